#pragma once
// Sealed cursors: a position in a listing handed to a client as an opaque token it can only hand
// back. A listing that skips what the caller may not see still has to say where the next page
// starts, and that place can be a record the caller may not see (ListAccounts stops after
// 100,000 records read); sealing keeps its id from the caller. AES-256-GCM under a key drawn at
// start: a forged or altered cursor fails to open, and cursors last until the server restarts.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace lovebank::service {

class CursorSeal {
 public:
  // A seal with a new random key. Errors: Internal when the system has no entropy to give.
  static absl::StatusOr<CursorSeal> Create();

  // "c1" + web-safe base64 of nonce ‖ ciphertext ‖ tag. Empty stays empty (the last page).
  std::string Seal(std::string_view position) const;
  // The position a cursor of this seal holds; nullopt for anything else. Empty opens to empty.
  std::optional<std::string> Open(std::string_view cursor) const;

 private:
  explicit CursorSeal(std::string key) : key_(std::move(key)) {}
  std::string key_;  // 32 bytes
};

}  // namespace lovebank::service
