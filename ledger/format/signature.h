#pragma once
// Ed25519 keys and what lovebank signs with them (issue #27; docs/proofs.md): the ledger's tree
// heads and certificates, and witnesses' co-signatures of heads. OpenSSL 3 does the curve.
//
// Every signed message starts with its own context string (domain separation), so a signature
// made for one purpose never verifies as another:
//   tree head    "lovebank/v1/tree-head\0" ‖ ledger id (16) ‖ tree size (u64 BE) ‖ root (32)
//                ‖ time (i64 BE, µs since the Unix epoch)
//   co-signature "lovebank/v1/cosign\0" ‖ the same fields ‖ the witness principal's name
//   certificate  "lovebank/v1/certificate\0" ‖ SHA-256 of the certificate's data (32)
//   key rotation "lovebank/v1/key-rotation\0" ‖ ledger id (16) ‖ old key (32) ‖ new key (32),
//                signed by both keys (journal.proto SigningKeyChange)
// A key is named by its id, SHA-256 of the 32-byte raw public key; people compare its
// fingerprint, the id's first 16 bytes as hex in groups of four ("3f9a 0c1d …").
//
// SigningKey is thread-safe (signing with OpenSSL's EVP_PKEY is const); the rest are values.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lovebank::signature {

inline constexpr std::size_t kPublicKeyBytes = 32;
inline constexpr std::size_t kSignatureBytes = 64;
using PublicKey = std::array<unsigned char, kPublicKeyBytes>;
using Signature = std::array<unsigned char, kSignatureBytes>;
using KeyId = std::array<unsigned char, 32>;

KeyId KeyIdOf(const PublicKey& key);
std::string Fingerprint(const PublicKey& key);
// 64 hex digits, the form `lovebank key` prints and `--key` takes.
std::string PublicKeyHex(const PublicKey& key);
// The key from exactly 64 hex digits; std::nullopt otherwise. For keys that come in data.
std::optional<PublicKey> PublicKeyFromHex(std::string_view hex);
// What a person gives: 64 hex digits (surrounding whitespace ignored) or the name of a file
// holding them (at most 4 KiB read); std::nullopt when it is neither.
std::optional<PublicKey> ParsePublicKey(std::string_view text);

bool Verify(const PublicKey& key, std::string_view message, const Signature& signature);

class SigningKey {
 public:
  // A fresh key from OpenSSL's CSPRNG. Errors: Internal when OpenSSL fails.
  static absl::StatusOr<std::unique_ptr<SigningKey>> Generate();
  // The key in `path` (PKCS#8 PEM, as WriteTo leaves it). Errors: NotFound (no file), DataLoss
  // (not an Ed25519 private key), PermissionDenied (group or others may read it: mode must be
  // 0600 or stricter).
  static absl::StatusOr<std::unique_ptr<SigningKey>> Load(const std::string& path);
  // Load, or Generate and write to `path` (created 0600; never overwrites) when there is none.
  static absl::StatusOr<std::unique_ptr<SigningKey>> LoadOrCreate(const std::string& path);
  ~SigningKey();

  // Writes the private key to a new file `path`, mode 0600, synced. Errors: AlreadyExists,
  // Unavailable (I/O).
  absl::Status WriteTo(const std::string& path) const;

  const PublicKey& public_key() const { return public_key_; }
  const KeyId& key_id() const { return key_id_; }
  Signature Sign(std::string_view message) const;

 private:
  explicit SigningKey(void* pkey);
  void* pkey_;  // EVP_PKEY*
  PublicKey public_key_{};
  KeyId key_id_{};
};

// What a tree head says; its message is the bytes a key signs (above).
struct TreeHead {
  std::string ledger_id;  // 16 bytes
  std::uint64_t tree_size = 0;
  std::array<unsigned char, 32> root{};
  std::int64_t time_unix_us = 0;
};
std::string TreeHeadMessage(const TreeHead& head);
// `witness`: the principal that journals it, so a co-signature is its signer's own statement
// (another principal cannot journal it as theirs).
std::string CosignMessage(const TreeHead& head, std::string_view witness);
std::string CertificateMessage(std::string_view data_sha256);
// "lovebank/v1/certificate-summary\0" ‖ the summary's bytes (a certificate's QR code).
std::string CertificateSummaryMessage(std::string_view summary);
std::string KeyRotationMessage(std::string_view ledger_id, std::string_view old_key,
                               std::string_view new_key);

// Raw bytes of a key or signature from a journaled field; std::nullopt unless exactly the size.
std::optional<PublicKey> PublicKeyFromBytes(std::string_view bytes);
std::optional<Signature> SignatureFromBytes(std::string_view bytes);
inline std::string_view BytesOf(const PublicKey& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}
inline std::string_view BytesOf(const Signature& signature) {
  return {reinterpret_cast<const char*>(signature.data()), signature.size()};
}

}  // namespace lovebank::signature
