#include "facegate/badge/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>

#include "facegate/core/output_file.hpp"

namespace facegate::badge {
namespace fs = std::filesystem;

static_assert(kSigningKeySize == crypto_sign_SECRETKEYBYTES);
static_assert(kPublicKeySize == crypto_sign_PUBLICKEYBYTES);
static_assert(kSignatureSize == crypto_sign_BYTES);
static_assert(kTemplateKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kPublicKeySize == crypto_core_ed25519_BYTES);

namespace {

struct KeyFileKind {
  std::string_view header;
  std::string_view name;  // as in "a <name> file"
  std::size_t keySize;
  bool secret;
};

constexpr KeyFileKind kSigningFile{kSigningKeyHeader, "signing key", kSigningKeySize, true};
constexpr KeyFileKind kPublicFile{kPublicKeyHeader, "public key", kPublicKeySize, false};
constexpr KeyFileKind kTemplateFile{kTemplateKeyHeader, "template key", kTemplateKeySize, true};
constexpr std::array kKeyFileKinds{kSigningFile, kPublicFile, kTemplateFile};

// The longest valid file is 24 + 128 + 1 bytes; anything much bigger is not a key file and
// is refused before it is read.
constexpr std::size_t kMaxKeyFileSize = 1024;

// Key file text is built and read in locked memory that is zeroed on destruction, so the
// hex of a secret key never sits in a std::string or on the stack.
using KeyFileText = SecureBox<std::array<char, kMaxKeyFileSize + 1>>;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // Closes now and reports the result: close() is where some file systems report a failed
  // write-back.
  bool close() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

std::string errnoText(int error) {
  return std::strerror(error);
}

// The key file of `kind` holding `key`, written under a temporary name next to `path`
// (see OutputFile): publish() puts it in place. The text is built in locked memory.
Result<OutputFile> stageKeyFile(const fs::path& path, const KeyFileKind& kind,
                                std::span<const unsigned char> key) {
  KeyFileText text;
  char* out = text->data();
  std::memcpy(out, kind.header.data(), kind.header.size());
  std::size_t size = kind.header.size();
  out[size++] = '\n';
  sodium_bin2hex(out + size, key.size() * 2 + 1, key.data(), key.size());
  size += key.size() * 2;
  out[size++] = '\n';
  auto file = OutputFile::stage(path, kind.secret ? 0600 : 0644);
  if (!file) {
    return tl::unexpected(file.error());
  }
  if (auto r = file->write(std::string_view(out, size)); !r) {
    return tl::unexpected(r.error());
  }
  return file;
}

Result<void> saveKeyFile(const fs::path& path, const KeyFileKind& kind,
                         std::span<const unsigned char> key) {
  auto file = stageKeyFile(path, kind, key);
  if (!file) {
    return tl::unexpected(file.error());
  }
  return file->publish(Overwrite::Refuse);
}

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Reads a key file of `kind` into `key` (kind.keySize bytes). Messages never quote the
// file's content beyond its header line, and only when that header is a known one.
Result<void> loadKeyFile(const fs::path& path, const KeyFileKind& kind,
                         std::span<unsigned char> key) {
  const std::string file = path.string();
  // O_NONBLOCK: opening a FIFO planted at the key path must not hang the gate.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int error = errno;
    if (error == ENOENT) {
      return fail(ErrorCode::FileNotFound,
                  fmt::format("{} file {} does not exist", kind.name, file));
    }
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot open {} file {}: {}", kind.name, file, errnoText(error)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot stat {}: {}", file, errnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("{} is not a regular file (expected a {} file)", file, kind.name));
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} is {} bytes, too large to be a facegate {} file", file, st.st_size,
                            kind.name));
  }

  KeyFileText text;
  std::size_t size = 0;
  while (size < text->size()) {
    const ssize_t n = ::read(fd.get(), text->data() + size, text->size() - size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(ErrorCode::FileUnreadable,
                  fmt::format("I/O error reading {}: {}", file, errnoText(errno)));
    }
    if (n == 0) {
      break;
    }
    size += static_cast<std::size_t>(n);
  }
  if (size > kMaxKeyFileSize) {  // it grew after fstat
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} is too large to be a facegate {} file", file, kind.name));
  }

  const std::string_view content(text->data(), size);
  const auto newline = content.find('\n');
  const std::string_view header = content.substr(0, newline);
  if (header != kind.header) {
    for (const auto& other : kKeyFileKinds) {
      if (header == other.header) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{} is a {} file, expected a {}", file, other.name, kind.name));
      }
    }
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} is not a facegate {} file: its first line is not '{}'", file,
                            kind.name, kind.header));
  }
  // Checked once the file is known to be what the caller asked for, so that a public key
  // given by mistake is named as such rather than called an exposed secret.
  if (kind.secret && (st.st_mode & 077) != 0) {
    return fail(ErrorCode::Refused,
                fmt::format("{} holds a secret {} but group or others have access to it (mode "
                            "{:04o}); run `chmod 600 {}` so that only its owner can read it",
                            file, kind.name, st.st_mode & 07777, file));
  }
  std::string_view hex =
      newline == std::string_view::npos ? std::string_view{} : content.substr(newline + 1);
  if (!hex.empty() && hex.back() == '\n') {
    hex.remove_suffix(1);
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (hex[i] == '\n') {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{} has extra lines after the key on line 2", file));
    }
    if (!isHexDigit(hex[i])) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{} has a character that is not a hex digit on line 2, column {}",
                              file, i + 1));
    }
  }
  if (hex.size() != kind.keySize * 2) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} holds {} hex digits on line 2, expected {} for a {} (truncated "
                            "or not a facegate key file?)",
                            file, hex.size(), kind.keySize * 2, kind.name));
  }
  std::size_t decoded = 0;
  if (sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &decoded, nullptr) !=
          0 ||
      decoded != key.size()) {
    secureWipe(key.data(), key.size());
    return fail(ErrorCode::InvalidArgument, fmt::format("{} holds malformed hex", file));
  }
  return {};
}

}  // namespace

KeyId keyId(const PublicKey& key) {
  ensureSodium();
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), key.bytes.data(), key.bytes.size());
  KeyId id{};
  std::memcpy(id.data(), digest.data(), id.size());
  return id;
}

bool verify(const PublicKey& key, std::span<const std::uint8_t> message,
            std::span<const std::uint8_t, kSignatureSize> signature) {
  ensureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.bytes.data()) == 0;
}

SigningKey SigningKey::generate() {
  SigningKey key;  // SecureBox's allocation has initialised libsodium
  PublicKey ignored;
  crypto_sign_keypair(ignored.bytes.data(), key.secret_->data());
  return key;
}

PublicKey SigningKey::publicKey() const noexcept {
  PublicKey key;
  crypto_sign_ed25519_sk_to_pk(key.bytes.data(), secret_->data());
  return key;
}

Signature SigningKey::sign(std::span<const std::uint8_t> message) const noexcept {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_->data());
  return signature;
}

Result<void> SigningKey::save(const fs::path& path) const {
  return saveKeyFile(path, kSigningFile, *secret_);
}

Result<SigningKey> SigningKey::load(const fs::path& path) {
  SigningKey key;
  if (auto loaded = loadKeyFile(path, kSigningFile, *key.secret_); !loaded) {
    return tl::unexpected(std::move(loaded.error()));
  }
  // libsodium's secret key is the seed followed by the public key; a file whose halves
  // disagree would sign badges that no gate accepts.
  PublicKey derived;
  SecureBox<std::array<unsigned char, crypto_sign_SECRETKEYBYTES>> rederived;
  crypto_sign_seed_keypair(derived.bytes.data(), rederived->data(), key.secret_->data());
  if (derived != key.publicKey()) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} is corrupt: the public half of the signing key does not match "
                            "its secret seed",
                            path.string()));
  }
  return key;
}

Result<void> savePublicKey(const PublicKey& key, const fs::path& path) {
  return saveKeyFile(path, kPublicFile, key.bytes);
}

Result<PublicKey> loadPublicKey(const fs::path& path) {
  ensureSodium();
  PublicKey key;
  if (auto loaded = loadKeyFile(path, kPublicFile, key.bytes); !loaded) {
    return tl::unexpected(std::move(loaded.error()));
  }
  if (crypto_core_ed25519_is_valid_point(key.bytes.data()) != 1) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} does not hold a valid Ed25519 public key", path.string()));
  }
  return key;
}

TemplateKey TemplateKey::generate() {
  TemplateKey key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.key_->data());
  return key;
}

Result<void> TemplateKey::save(const fs::path& path) const {
  return saveKeyFile(path, kTemplateFile, *key_);
}

Result<void> saveSchoolKeys(const SigningKey& signingKey, const TemplateKey* templateKey,
                            const SchoolKeyPaths& paths) {
  if (templateKey != nullptr && !paths.templateKey) {
    return fail(ErrorCode::InvalidArgument, "a template key was given without a path to save it");
  }
  std::vector<fs::path> all{paths.signingKey, paths.publicKey};
  if (templateKey != nullptr) {
    all.push_back(*paths.templateKey);
  }
  // Every target first: a key that is already there stops everything before anything is
  // written, so no new key is made to match nothing.
  for (const auto& path : all) {
    if (auto r = checkCanCreate(path); !r) {
      return r;
    }
  }
  const PublicKey publicKey = signingKey.publicKey();
  std::vector<OutputFile> files;
  const auto stage = [&](const fs::path& path, const KeyFileKind& kind,
                         std::span<const unsigned char> key) -> Result<void> {
    auto file = stageKeyFile(path, kind, key);
    if (!file) {
      return tl::unexpected(file.error());
    }
    files.push_back(std::move(*file));
    return {};
  };
  Result<void> staged = stage(paths.signingKey, kSigningFile, *signingKey.secret_);
  if (staged) {
    staged = stage(paths.publicKey, kPublicFile, publicKey.bytes);
  }
  if (staged && templateKey != nullptr) {
    staged = stage(*paths.templateKey, kTemplateFile,
                   std::span<const unsigned char>(templateKey->data(), kTemplateKeySize));
  }
  if (!staged) {
    return staged;  // the temporaries go with `files`
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (auto r = files[i].publish(Overwrite::Refuse); !r) {
      for (std::size_t j = 0; j < i; ++j) {
        files[j].discard();  // ours, just made: take them back
      }
      return r;
    }
  }
  return {};
}

Result<TemplateKey> TemplateKey::load(const fs::path& path) {
  TemplateKey key;
  if (auto loaded = loadKeyFile(path, kTemplateFile, *key.key_); !loaded) {
    return tl::unexpected(std::move(loaded.error()));
  }
  return key;
}

}  // namespace facegate::badge
