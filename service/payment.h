#pragma once
// Payment codes (付款码, issue #24 item 3; docs/members.md "Payment code"): a member's consent at
// the till, shown by its activated phone, made offline from a secret the phone got once at
// activation. No gRPC here.
//
// The secret of a device is HMAC-SHA256(server key, "lovebank payment v1" ‖ principal name): the
// key lives in the data directory (payment.key, mode 0600) and nowhere in the journal, so nobody
// who reads the journal (an auditor, a backup) can make a member's codes.
//
// A code is decimal digits: the device number (the seq of the device's grant), one index digit
// (0-9: the phone's n-th code in this 30-second window), and 12 digits of
// HMAC-SHA256(secret, counter as 8 bytes big-endian) truncated, where counter = window × 10 +
// index and window = unix seconds / 30. lovebankd accepts the windows around its clock (±1), and
// the sequencer then requires the counter above the device's last (each code once) and the
// window within 90 s of the entry's time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lovebank::service {

inline constexpr std::size_t kPaymentOtpDigits = 12;

class PaymentKey {
 public:
  // The key in `path`; when there is none and `may_create` (no device was ever activated, so no
  // phone holds a secret made from a key), a new one (32 random bytes, mode 0600, written to a
  // temporary file, synced and renamed). Errors: FailedPrecondition (missing and not
  // `may_create`: restore it), Unavailable (cannot read or write it), DataLoss (not 32 bytes).
  static absl::StatusOr<PaymentKey> LoadOrCreate(const std::string& path, bool may_create);
  // The payment secret of device `principal`: 32 raw bytes.
  std::string SecretFor(std::string_view principal) const;

 private:
  explicit PaymentKey(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// The code a phone shows: from its secret (32 raw bytes), its device number, the time, and the
// index of this code in its 30-second window (0-9).
std::string MakePaymentCode(std::string_view secret, std::uint64_t device_number,
                            std::int64_t time_unix_us, int index);

struct PaymentCodeParts {
  std::uint64_t device_number = 0;
  int index = 0;
  std::string otp;  // kPaymentOtpDigits digits
};
// Digits (spaces and dashes ignored), 14-32 of them; std::nullopt otherwise.
std::optional<PaymentCodeParts> ParsePaymentCode(std::string_view text);
// The counter (window × 10 + index) whose one-time password `parts.otp` is, among the windows
// around `now_unix_us` (±1), or std::nullopt. Compared in constant time.
std::optional<std::uint64_t> VerifyPaymentCode(std::string_view secret,
                                               const PaymentCodeParts& parts,
                                               std::int64_t now_unix_us);

}  // namespace lovebank::service
