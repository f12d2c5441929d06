// Ed25519 keys and the messages lovebank signs (signature.h; docs/proofs.md).

#include "ledger/format/signature.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ledger/base/check.h"
#include "ledger/base/coding.h"
#include "ledger/base/strings.h"

namespace lovebank::signature {
namespace {

EVP_PKEY* Pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

std::string_view Bytes(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

std::string HeadFields(std::string_view context, const TreeHead& head) {
  std::string message(context);
  message.push_back('\0');
  message += head.ledger_id;
  PutFixed64BE(&message, head.tree_size);
  message += Bytes(head.root.data(), head.root.size());
  PutFixed64BE(&message, static_cast<std::uint64_t>(head.time_unix_us));
  return message;
}

}  // namespace

KeyId KeyIdOf(const PublicKey& key) {
  KeyId id;
  LOVEBANK_CHECK(SHA256(key.data(), key.size(), id.data()) != nullptr);
  return id;
}

std::string Fingerprint(const PublicKey& key) {
  const KeyId id = KeyIdOf(key);
  const std::string hex = ToHex(Bytes(id.data(), 16));
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 4) {
    if (i != 0) out.push_back(' ');
    out += hex.substr(i, 4);
  }
  return out;
}

std::string PublicKeyHex(const PublicKey& key) { return ToHex(Bytes(key.data(), key.size())); }

std::optional<PublicKey> PublicKeyFromHex(std::string_view hex) {
  auto bytes = FromHex(hex);
  if (!bytes) return std::nullopt;
  return PublicKeyFromBytes(*bytes);
}

namespace {
template <class Bytes>
std::optional<Bytes> ExactBytes(std::string_view bytes) {
  Bytes out;
  if (bytes.size() != out.size()) return std::nullopt;
  std::memcpy(out.data(), bytes.data(), out.size());
  return out;
}
}  // namespace

std::optional<PublicKey> PublicKeyFromBytes(std::string_view bytes) {
  return ExactBytes<PublicKey>(bytes);
}
std::optional<Signature> SignatureFromBytes(std::string_view bytes) {
  return ExactBytes<Signature>(bytes);
}

std::optional<PublicKey> ParsePublicKey(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  std::string_view hex = trim(text);
  std::string file_text;
  if (hex.size() != 2 * kPublicKeyBytes) {
    // Not the key itself: a file holding it (at most a line of `lovebank key` output).
    // At most 4 KiB read: a key file is one line, and a device (/dev/zero) must not hang us.
    std::ifstream file{std::string(hex), std::ios::binary};
    if (!file) return std::nullopt;
    file_text.resize(4097);
    file.read(file_text.data(), static_cast<std::streamsize>(file_text.size()));
    file_text.resize(static_cast<std::size_t>(file.gcount()));
    if (file_text.size() > 4096) return std::nullopt;
    hex = trim(file_text);
  }
  return PublicKeyFromHex(hex);
}

bool Verify(const PublicKey& key, std::string_view message, const Signature& signature) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size());
  if (pkey == nullptr) return false;  // not a point on the curve
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  LOVEBANK_CHECK(context != nullptr);
  const bool ok =
      EVP_DigestVerifyInit(context, nullptr, nullptr, nullptr, pkey) == 1 &&
      EVP_DigestVerify(context, signature.data(), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(pkey);
  return ok;
}

SigningKey::SigningKey(void* pkey) : pkey_(pkey) {
  std::size_t size = public_key_.size();
  LOVEBANK_CHECK(EVP_PKEY_get_raw_public_key(Pkey(pkey_), public_key_.data(), &size) == 1 &&
                 size == public_key_.size());
  key_id_ = KeyIdOf(public_key_);
}

SigningKey::~SigningKey() { EVP_PKEY_free(Pkey(pkey_)); }

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return absl::InternalError("OpenSSL could not make an Ed25519 key");
  return std::unique_ptr<SigningKey>(new SigningKey(pkey));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::Load(const std::string& path) {
  // Opened once, not through a symlink, and checked on the open file (no stat-then-open race):
  // the ledger's authority to speak is its owner's alone.
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(Cat("no key at ", path));
    return absl::UnavailableError(Cat(path, ": ", std::strerror(errno)));
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::DataLossError(Cat(path, " is not a regular file"));
  }
  if ((info.st_mode & 077) != 0 || info.st_uid != geteuid()) {
    close(fd);
    return absl::PermissionDeniedError(Cat(
        path, " must belong to this user and be readable by it alone (chown it, chmod 600 it)"));
  }
  FILE* file = fdopen(fd, "r");
  LOVEBANK_CHECK(file != nullptr);
  EVP_PKEY* pkey = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return absl::DataLossError(Cat(path, " holds no Ed25519 private key"));
  }
  return std::unique_ptr<SigningKey>(new SigningKey(pkey));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::LoadOrCreate(const std::string& path) {
  auto loaded = Load(path);
  if (!absl::IsNotFound(loaded.status())) return loaded;
  auto key = Generate();
  if (!key.ok()) return key.status();
  if (auto status = (*key)->WriteTo(path); !status.ok()) return status;
  return key;
}

absl::Status SigningKey::WriteTo(const std::string& path) const {
  // Written whole or not at all: a temporary file (0600), synced, linked to `path` only if no
  // file is there (link fails with EEXIST: never overwritten), the directory synced.
  const std::string temporary = path + ".tmp";
  unlink(temporary.c_str());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(Cat(temporary, ": ", std::strerror(errno)));
  FILE* file = fdopen(fd, "w");
  LOVEBANK_CHECK(file != nullptr);
  const bool written =
      PEM_write_PrivateKey(file, Pkey(pkey_), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
      std::fflush(file) == 0 && fsync(fd) == 0;
  std::fclose(file);
  if (!written) {
    unlink(temporary.c_str());
    return absl::UnavailableError(Cat("writing ", temporary));
  }
  const int linked = link(temporary.c_str(), path.c_str());
  const int link_errno = errno;
  unlink(temporary.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return absl::AlreadyExistsError(Cat(path, " exists"));
    return absl::UnavailableError(Cat(path, ": ", std::strerror(link_errno)));
  }
  const std::string dir_path = path.find('/') == std::string::npos
                                   ? std::string(".")
                                   : path.substr(0, path.rfind('/') + (path.rfind('/') == 0));
  const int dir = open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir >= 0 && fsync(dir) == 0;
  if (dir >= 0) close(dir);
  if (!synced) return absl::UnavailableError(Cat("syncing the directory of ", path));
  return absl::OkStatus();
}

Signature SigningKey::Sign(std::string_view message) const {
  Signature signature;
  std::size_t size = signature.size();
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  LOVEBANK_CHECK(context != nullptr);
  LOVEBANK_CHECK(EVP_DigestSignInit(context, nullptr, nullptr, nullptr, Pkey(pkey_)) == 1);
  LOVEBANK_CHECK(EVP_DigestSign(context, signature.data(), &size,
                                reinterpret_cast<const unsigned char*>(message.data()),
                                message.size()) == 1 &&
                 size == signature.size());
  EVP_MD_CTX_free(context);
  return signature;
}

std::string TreeHeadMessage(const TreeHead& head) {
  return HeadFields("lovebank/v1/tree-head", head);
}
std::string CosignMessage(const TreeHead& head, std::string_view witness) {
  return HeadFields("lovebank/v1/cosign", head) + std::string(witness);
}
std::string CertificateMessage(std::string_view data_sha256) {
  std::string message("lovebank/v1/certificate");
  message.push_back('\0');
  message += data_sha256;
  return message;
}
std::string CertificateSummaryMessage(std::string_view summary) {
  std::string message("lovebank/v1/certificate-summary");
  message.push_back('\0');
  message += summary;
  return message;
}
std::string KeyRotationMessage(std::string_view ledger_id, std::string_view old_key,
                               std::string_view new_key) {
  std::string message("lovebank/v1/key-rotation");
  message.push_back('\0');
  message += ledger_id;
  message += old_key;
  message += new_key;
  return message;
}

}  // namespace lovebank::signature
