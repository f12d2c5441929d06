#pragma once
// SHA-256, the ledger's one hash function: entry hashes, fingerprints, the Merkle tree's leaves
// and nodes (sha256.cc says how it is computed, and why). Not for secrets: its context is not
// cleansed (tokens and keys go through OpenSSL's one-shot calls, which cleanse).

#include <array>
#include <initializer_list>
#include <string_view>

namespace lovebank {

// SHA-256 of the parts, concatenated.
std::array<unsigned char, 32> Sha256(std::initializer_list<std::string_view> parts);

// A hash's 32 bytes as a part (of Sha256, or of a string).
inline std::string_view HashBytes(const std::array<unsigned char, 32>& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

}  // namespace lovebank
