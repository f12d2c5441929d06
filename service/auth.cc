#include "service/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "ledger/base/coding.h"

namespace lovebank::service {

bool Principal::IsBound(std::string_view account) const {
  return std::find(accounts.begin(), accounts.end(), account) != accounts.end();
}

absl::StatusOr<std::string> NewToken() {
  unsigned char random[kTokenRandomBytes];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("RAND_bytes failed: no entropy for a token");
  }
  return std::string(kTokenPrefix) +
         ToHex(std::string_view(reinterpret_cast<const char*>(random), sizeof(random)));
}

std::string TokenSha256(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

bool ConstantTimeEqual::operator()(std::string_view a, std::string_view b) const {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

std::shared_ptr<const Principal> FromRecord(const v1::PrincipalRecord& record) {
  auto principal = std::make_shared<Principal>();
  principal->name = record.principal();
  principal->role = record.role();
  principal->accounts.assign(record.accounts().begin(), record.accounts().end());
  principal->record = record;
  principal->record.clear_token_sha256();
  return principal;
}

}  // namespace

namespace {
bool WaitsForActivation(const v1::PrincipalRecord& record) {
  return record.activation_expires_unix_us() != 0 && record.activated_seq() == 0;
}
}  // namespace

void Principals::Load(const std::vector<v1::PrincipalRecord>& records) {
  {
    absl::WriterMutexLock lock(&mu_);
    by_token_hash_.clear();
    activations_.clear();
    devices_.clear();
  }
  for (const auto& record : records) Put(record);
}

void Principals::Put(const v1::PrincipalRecord& record) {
  absl::WriterMutexLock lock(&mu_);
  if (!record.activation_sha256().empty()) activations_.erase(record.activation_sha256());
  if (record.activated_seq() != 0 && record.revoked_seq() == 0) {
    devices_[record.granted_seq()] = record;
  } else {
    devices_.erase(record.granted_seq());
  }
  if (record.revoked_seq() != 0) {
    by_token_hash_.erase(record.token_sha256());
  } else if (WaitsForActivation(record)) {
    activations_[record.token_sha256()] = record;
  } else {
    by_token_hash_[record.token_sha256()] = FromRecord(record);
  }
}

std::optional<v1::PrincipalRecord> Principals::FindDevice(std::uint64_t number) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = devices_.find(number);
  if (it == devices_.end()) return std::nullopt;
  return it->second;
}

std::optional<v1::PrincipalRecord> Principals::FindActivation(std::string_view code_sha256) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = activations_.find(std::string(code_sha256));
  if (it == activations_.end()) return std::nullopt;
  return it->second;
}

namespace {
constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}  // namespace

absl::StatusOr<std::string> NewActivationCode() {
  unsigned char random[kActivationCodeChars];  // 5 random bits of each byte: 80 bits
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("no entropy for an activation code");
  }
  std::string code;
  for (std::size_t i = 0; i < kActivationCodeChars; ++i) {
    if (i > 0 && i % 4 == 0) code += '-';
    code += kCrockford[random[i] & 31];
  }
  return code;
}

std::optional<std::string> CanonicalActivationCode(std::string_view typed) {
  std::string code;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kCrockford.find(c) == std::string_view::npos) return std::nullopt;
    code += c;
    if (code.size() > kActivationCodeChars) return std::nullopt;
  }
  if (code.size() != kActivationCodeChars) return std::nullopt;
  return code;
}

Authentication Principals::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return {Reason::kTokenMissing, nullptr};
  }
  const std::string hash = TokenSha256(authorization.substr(kScheme.size()));
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_token_hash_.find(hash);
  if (it == by_token_hash_.end()) return {Reason::kTokenUnknown, nullptr};
  return {Reason::kOk, it->second};
}

std::size_t Principals::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return by_token_hash_.size();
}

}  // namespace lovebank::service
