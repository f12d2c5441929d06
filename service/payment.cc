#include "service/payment.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ledger/base/coding.h"
#include "ledger/base/strings.h"

namespace lovebank::service {
namespace {

constexpr std::int64_t kWindowSeconds = 30;

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string Otp(std::string_view secret, std::uint64_t counter) {
  const std::string mac = Hmac(secret, EncodeFixed64BE(counter));
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(mac[i]);
  std::uint64_t modulus = 1;
  for (std::size_t i = 0; i < kPaymentOtpDigits; ++i) modulus *= 10;
  std::string digits = std::to_string(value % modulus);
  return std::string(kPaymentOtpDigits - digits.size(), '0') + digits;
}

std::int64_t WindowOf(std::int64_t time_unix_us) {
  return time_unix_us / 1'000'000 / kWindowSeconds;
}

}  // namespace

absl::StatusOr<PaymentKey> PaymentKey::LoadOrCreate(const std::string& path, bool may_create) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string key((std::istreambuf_iterator<char>(in)), {});
    if (key.size() != 32) return absl::DataLossError(Cat(path, " is not a 32-byte key"));
    return PaymentKey(std::move(key));
  }
  if (errno != ENOENT) return absl::UnavailableError(Cat("cannot read ", path));
  if (!may_create) {
    return absl::FailedPreconditionError(
        Cat(path,
            " is missing while members' phones hold secrets made from it: restore it from "
            "the backup (a new key would refuse every phone's payment codes)"));
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("no entropy for the payment key");
  }
  // Written whole or not at all: a temporary file, synced, renamed, the directory synced.
  const std::string temporary = path + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(Cat("cannot create ", temporary));
  const bool written = ::write(fd, random, sizeof(random)) == sizeof(random) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return absl::UnavailableError(Cat("cannot write ", path));
  }
  const std::string directory = std::filesystem::path(path).parent_path().string();
  const int dir = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  const bool synced = dir >= 0 && ::fsync(dir) == 0;
  if (dir >= 0) ::close(dir);
  if (!synced) return absl::UnavailableError(Cat("cannot sync the directory of ", path));
  return PaymentKey(std::string(reinterpret_cast<const char*>(random), sizeof(random)));
}

std::string PaymentKey::SecretFor(std::string_view principal) const {
  return Hmac(key_, Cat("lovebank payment v1", principal));
}

std::string PaymentKey::WrapPin(std::string_view principal, std::string_view nonce,
                                std::string_view key) const {
  std::string out =
      Hmac(key_, Cat("lovebank pin wrap v1", principal, std::string_view("\0", 1), nonce));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(out[i] ^ (i < key.size() ? key[i] : 0));
  }
  return out;
}

std::string PaymentKey::CodeKeyFor(const v1::PrincipalRecord& device) const {
  if (device.pin_key_wrapped().empty()) return SecretFor(device.principal());
  return WrapPin(device.principal(), device.pin_wrap_nonce(), device.pin_key_wrapped());
}

absl::StatusOr<std::string> NewPinNonce() {
  unsigned char random[16];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("no entropy for a PIN's nonce");
  }
  return std::string(reinterpret_cast<const char*>(random), sizeof(random));
}

std::string MakePinCodeKey(std::string_view secret, std::string_view pin) {
  return Hmac(secret, Cat("lovebank pin v1", pin));
}

bool PaymentCodeGuard::Admit(std::uint64_t device, std::int64_t now_unix_us) {
  constexpr std::int64_t kLockUs = kPaymentCodeLockSeconds * 1'000'000;
  absl::MutexLock lock(&mu_);
  Failures& failures = failures_[device];
  const bool recent = failures.count > 0 && now_unix_us - failures.last_unix_us < kLockUs;
  if (!recent) failures.count = 0;
  if (failures.count >= kPaymentCodeFailuresMax) return false;
  ++failures.count;
  failures.last_unix_us = now_unix_us;
  return true;
}

void PaymentCodeGuard::Succeeded(std::uint64_t device) {
  absl::MutexLock lock(&mu_);
  failures_.erase(device);
}

std::string MakePaymentCode(std::string_view secret, std::uint64_t device_number,
                            std::int64_t time_unix_us, int index) {
  const std::uint64_t counter =
      static_cast<std::uint64_t>(WindowOf(time_unix_us)) * 10 + static_cast<std::uint64_t>(index);
  return Cat(device_number, index, Otp(secret, counter));
}

std::optional<PaymentCodeParts> ParsePaymentCode(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits += c;
    if (digits.size() > 32) return std::nullopt;
  }
  if (digits.size() < kPaymentOtpDigits + 2) return std::nullopt;
  PaymentCodeParts parts;
  parts.otp = digits.substr(digits.size() - kPaymentOtpDigits);
  parts.index = digits[digits.size() - kPaymentOtpDigits - 1] - '0';
  const std::string number = digits.substr(0, digits.size() - kPaymentOtpDigits - 1);
  if (number.size() > 19 || number[0] == '0') return std::nullopt;
  parts.device_number = std::stoull(number);
  return parts;
}

std::optional<std::uint64_t> VerifyPaymentCode(std::string_view secret,
                                               const PaymentCodeParts& parts,
                                               std::int64_t now_unix_us) {
  const std::int64_t now = WindowOf(now_unix_us);
  for (std::int64_t window = now - 1; window <= now + 1; ++window) {
    if (window < 0) continue;
    const std::uint64_t counter =
        static_cast<std::uint64_t>(window) * 10 + static_cast<std::uint64_t>(parts.index);
    const std::string expected = Otp(secret, counter);
    if (CRYPTO_memcmp(expected.data(), parts.otp.data(), kPaymentOtpDigits) == 0) return counter;
  }
  return std::nullopt;
}

}  // namespace lovebank::service
