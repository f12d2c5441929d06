#include "service/seal.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/escaping.h"

namespace lovebank::service {
namespace {

constexpr std::string_view kCursorVersion = "c1";
constexpr int kKeyBytes = 32;
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;
// A cursor longer than this was not made here (positions are account ids, at most 64 bytes).
constexpr std::size_t kCursorBytesMax = 512;

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Cipher = std::unique_ptr<EVP_CIPHER_CTX, CipherFree>;

unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<CursorSeal> CursorSeal::Create() {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(Bytes(key), kKeyBytes) != 1) {
    return absl::InternalError("RAND_bytes failed: no entropy for the cursor key");
  }
  return CursorSeal(std::move(key));
}

std::string CursorSeal::Seal(std::string_view position) const {
  if (position.empty()) return "";
  std::string sealed(kNonceBytes + position.size() + kTagBytes, '\0');
  Cipher ctx(EVP_CIPHER_CTX_new());
  int written = 0;
  // A nonce from RAND_bytes per seal: 96 random bits, far from a collision at any page rate.
  const bool ok =
      ctx != nullptr && RAND_bytes(Bytes(sealed), kNonceBytes) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_), Bytes(sealed)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), Bytes(sealed) + kNonceBytes, &written, Bytes(position),
                        static_cast<int>(position.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), Bytes(sealed) + kNonceBytes + written, &written) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          Bytes(sealed) + kNonceBytes + position.size()) == 1;
  // OpenSSL fails here only without memory or entropy; a page without a cursor would silently
  // end the listing, so stop instead.
  if (!ok) std::abort();
  return std::string(kCursorVersion) + absl::WebSafeBase64Escape(absl::string_view(sealed));
}

std::optional<std::string> CursorSeal::Open(std::string_view cursor) const {
  if (cursor.empty()) return std::string();
  if (cursor.size() > kCursorBytesMax || !cursor.starts_with(kCursorVersion)) return std::nullopt;
  std::string sealed;
  const std::string_view encoded = cursor.substr(kCursorVersion.size());
  if (!absl::WebSafeBase64Unescape(absl::string_view(encoded.data(), encoded.size()), &sealed) ||
      sealed.size() <= static_cast<std::size_t>(kNonceBytes + kTagBytes)) {
    return std::nullopt;
  }
  const std::size_t length = sealed.size() - kNonceBytes - kTagBytes;
  std::string position(length, '\0');
  Cipher ctx(EVP_CIPHER_CTX_new());
  int written = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key_), Bytes(sealed)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), Bytes(position), &written, Bytes(sealed) + kNonceBytes,
                        static_cast<int>(length)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          Bytes(sealed) + kNonceBytes + length) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), Bytes(position) + written, &written) == 1;
  if (!ok) return std::nullopt;
  return position;
}

}  // namespace lovebank::service
