#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

#include "facegate/core/error.hpp"
#include "facegate/core/secure_memory.hpp"

namespace facegate::badge {

// Ed25519 (libsodium) sizes. The .cpp checks them against libsodium's constants; this header
// does not include sodium.h so that users of the badge module do not depend on it.
inline constexpr std::size_t kSigningKeySize = 64;  // seed (32) followed by the public key (32)
inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kTemplateKeySize = 32;  // XChaCha20-Poly1305 key
inline constexpr std::size_t kKeyIdSize = 4;

using Signature = std::array<std::uint8_t, kSignatureSize>;
using KeyId = std::array<std::uint8_t, kKeyIdSize>;

// The school's public key, the only key a gate holds. Not secret.
struct PublicKey {
  std::array<std::uint8_t, kPublicKeySize> bytes{};

  bool operator==(const PublicKey&) const = default;
};

// First 4 bytes of SHA-256 of the public key. Written in every badge so that a gate tells
// "another school's badge" from "a forged badge"; it is a hint, not a security check (the
// signature is).
KeyId keyId(const PublicKey& key);

// True if `signature` is a valid Ed25519 signature of `message` by `key`.
bool verify(const PublicKey& key, std::span<const std::uint8_t> message,
            std::span<const std::uint8_t, kSignatureSize> signature);

// Key files are text: one header line naming the kind of key, then the key in lowercase hex
// on one line, e.g. "facegate-public-key-v1\n<64 hex digits>\n".
//
// save functions write through OutputFile (core/output_file.hpp): a temporary file in the
// same directory, published with renameat2(RENAME_NOREPLACE). They never overwrite
// anything nor follow a symlink (AlreadyExists when something is at the path, naming a
// symbolic link as such; StorageFailure when the file cannot be created, written or
// fsync'ed, or a directory is there; nothing partly written is left). Secret keys are mode
// 0600, the public key 0644 (it is not secret, and a gate's unprivileged user reads it),
// whatever the umask.
//
// load functions fail with: FileNotFound (missing), FileUnreadable (permissions, not a
// regular file, I/O error), Refused (a secret key file that group or others may access:
// the message says to chmod 600), InvalidArgument (wrong header, naming the kind of
// facegate key file it is if it is another one; bad hex; wrong length; a key that is not a
// valid Ed25519 key). Every message names the file and never contains key material.
inline constexpr std::string_view kSigningKeyHeader = "facegate-signing-key-v1";
inline constexpr std::string_view kPublicKeyHeader = "facegate-public-key-v1";
inline constexpr std::string_view kTemplateKeyHeader = "facegate-template-key-v1";

class TemplateKey;
struct SchoolKeyPaths;

// The school's Ed25519 signing key, held only by the enrolment machine. The secret lives in
// sodium_malloc'd memory (locked, not in core dumps, zeroed on destruction). Move-only.
class SigningKey {
 public:
  static SigningKey generate();
  static Result<SigningKey> load(const std::filesystem::path& path);
  Result<void> save(const std::filesystem::path& path) const;

  PublicKey publicKey() const noexcept;
  // Ed25519 signature of `message` (deterministic: the same message gives the same bytes).
  Signature sign(std::span<const std::uint8_t> message) const noexcept;

 private:
  friend Result<void> saveSchoolKeys(const SigningKey&, const TemplateKey*, const SchoolKeyPaths&);
  SigningKey() = default;
  SecureBox<std::array<unsigned char, kSigningKeySize>> secret_;
};

Result<void> savePublicKey(const PublicKey& key, const std::filesystem::path& path);
Result<PublicKey> loadPublicKey(const std::filesystem::path& path);

// A 32-byte symmetric key (XChaCha20-Poly1305, used by the template store), held like the
// signing key. Move-only.
class TemplateKey {
 public:
  static TemplateKey generate();
  static Result<TemplateKey> load(const std::filesystem::path& path);
  Result<void> save(const std::filesystem::path& path) const;

  // kTemplateKeySize bytes, valid while this key lives.
  const unsigned char* data() const noexcept { return key_->data(); }

 private:
  TemplateKey() = default;
  SecureBox<std::array<unsigned char, kTemplateKeySize>> key_;
};

struct SchoolKeyPaths {
  std::filesystem::path signingKey;
  std::filesystem::path publicKey;
  std::optional<std::filesystem::path> templateKey;  // needed when a template key is saved
};

// The school's key files made together (facegate keygen): all of them or none. Every path
// is checked before anything is written (AlreadyExists naming the first one taken), each
// file is written under a temporary name next to its path, then published without
// replacing anything; if one cannot be published, those already published are removed
// again. So there is never a signing key without its public key, nor the reverse.
// `templateKey` may be null.
Result<void> saveSchoolKeys(const SigningKey& signingKey, const TemplateKey* templateKey,
                            const SchoolKeyPaths& paths);

}  // namespace facegate::badge
