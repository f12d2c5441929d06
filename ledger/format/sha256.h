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

}  // namespace lovebank
