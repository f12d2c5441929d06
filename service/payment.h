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

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lovebank/v1/store.pb.h"

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
  // A device's PIN (journal SetDevicePin): its code key (32 bytes) is journaled XOR
  // HMAC-SHA256(key, "lovebank pin wrap v1" ‖ principal ‖ 0x00 ‖ nonce), the nonce 16 random
  // bytes (NewPinNonce) — the same XOR wraps and unwraps.
  std::string WrapPin(std::string_view principal, std::string_view nonce,
                      std::string_view key) const;
  // The key `device`'s codes are made from now: its PIN's code key when it has a PIN (unwrapped),
  // else its payment secret.
  std::string CodeKeyFor(const v1::PrincipalRecord& device) const;

 private:
  explicit PaymentKey(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// 16 random bytes: a PIN's wrapping nonce. Internal when the system has no entropy.
absl::StatusOr<std::string> NewPinNonce();

// A PIN's code key, as the phone makes it (and sends it to Admin.SetDevicePin instead of the PIN):
// HMAC-SHA256(payment secret, "lovebank pin v1" ‖ PIN), 32 raw bytes.
std::string MakePinCodeKey(std::string_view secret, std::string_view pin);

// Wrong payment codes, per device (issue #24 item 2): every attempt with a device's code counts
// as wrong until its MAC proves right; after kPaymentCodeFailuresMax wrong ones in a row the
// device's codes are refused PAYMENT_CODE_LOCKED for kPaymentCodeLockSeconds from the last (a
// thief who holds a phone's secret but not its PIN gets 5 guesses a quarter hour: a 6-digit PIN
// holds for years). Failures older than the lock are forgotten. In memory, one entry per device
// that failed lately: a restart of lovebankd forgets them (decided: a restart is rare, and a
// journaled lock would let anyone who knows a device's number write to the journal). Thread-safe.
inline constexpr int kPaymentCodeFailuresMax = 5;
inline constexpr std::int64_t kPaymentCodeLockSeconds = 15 * 60;

class PaymentCodeGuard {
 public:
  // Counts an attempt of `device`'s code at `now_unix_us` as wrong; false (nothing counted) while
  // the device is locked.
  bool Admit(std::uint64_t device, std::int64_t now_unix_us);
  // The attempt's MAC was right: the device's count starts again.
  void Succeeded(std::uint64_t device);

 private:
  struct Failures {
    int count = 0;
    std::int64_t last_unix_us = 0;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::uint64_t, Failures> failures_ ABSL_GUARDED_BY(mu_);
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
