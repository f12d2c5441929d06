#pragma once
// The one helper for fixed-width encodings (STYLE.md 9). Big-endian everywhere, so that
// RocksDB's bytewise key order is numeric order for sequence numbers. And varints (protobuf's
// and RocksDB's: 7 bits per byte, low first, high bit set on all but the last).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lovebank {

// REQUIRES: 8 writable bytes at `out`.
inline void StoreFixed64BE(char* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(static_cast<unsigned char>(value >> (56 - 8 * i)));
}

inline void PutFixed64BE(std::string* out, std::uint64_t value) {
  char bytes[8];
  StoreFixed64BE(bytes, value);
  out->append(bytes, 8);
}

inline void PutFixed32BE(std::string* out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(static_cast<unsigned char>(value >> shift)));
  }
}

// REQUIRES: at least 8 (4) readable bytes at `data`.
inline std::uint64_t GetFixed64BE(const char* data) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

inline std::uint32_t GetFixed32BE(const char* data) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

inline std::string EncodeFixed64BE(std::uint64_t value) {
  std::string out;
  out.reserve(8);
  PutFixed64BE(&out, value);
  return out;
}

// Lower-case hex of arbitrary bytes, for hashes in messages and digests.
std::string ToHex(std::string_view bytes);
// The bytes of `hex` (either case, an even number of digits), or std::nullopt.
std::optional<std::string> FromHex(std::string_view hex);

// Appends `value` as a varint, in one append (a protobuf field or a WriteBatch record length).
inline void AppendVarint(std::string* out, std::uint64_t value) {
  char bytes[10];
  std::size_t size = 0;
  while (value >= 0x80) {
    bytes[size++] = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  bytes[size++] = static_cast<char>(value);
  out->append(bytes, size);
}

}  // namespace lovebank
