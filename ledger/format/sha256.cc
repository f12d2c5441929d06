// SHA256_Init and friends: deprecated in OpenSSL 3, still its fastest way to hash small
// records. SHA-256 over the concatenation of the parts, without concatenating them.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "ledger/format/sha256.h"

#include <openssl/sha.h>

#include "ledger/base/check.h"

namespace lovebank {

// SHA-256 functions on a context on the stack: the EVP interface (a fetched digest, a context
// per thread) costs ~50 ns more per hash of a 300-byte record (284 vs 235 ns here, a loop of
// 10^6 hashes), a sixth of the hash, for one hash per entry on the write path and two or three
// in the audit. The same SHA-NI code does the compression either way. These functions are
// marked deprecated in OpenSSL 3 (in favour of EVP), not removed. Nothing hashed here is
// secret (records, commands, ledger ids), so the context is not cleansed.
std::array<unsigned char, 32> Sha256(std::initializer_list<std::string_view> parts) {
  SHA256_CTX context;
  LOVEBANK_CHECK(SHA256_Init(&context) == 1);
  for (std::string_view part : parts) {
    LOVEBANK_CHECK(SHA256_Update(&context, part.data(), part.size()) == 1);
  }
  std::array<unsigned char, 32> hash;
  LOVEBANK_CHECK(SHA256_Final(hash.data(), &context) == 1);
  return hash;
}

}  // namespace lovebank
