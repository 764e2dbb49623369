#include "facegate/badge/keys.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace facegate::badge {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos ? ""
                                                    : "'" + needle + "' missing from: " + haystack;
}

TEST(Signature, SignsAndVerifies) {
  const auto key = SigningKey::generate();
  const auto message = bytesOf("facegate-badge-v1 and some payload");
  const Signature signature = key.sign(message);
  EXPECT_TRUE(verify(key.publicKey(), message, signature));

  auto altered = message;
  altered.back() ^= 1;
  EXPECT_FALSE(verify(key.publicKey(), altered, signature));

  auto forged = signature;
  forged[10] ^= 0x80;
  EXPECT_FALSE(verify(key.publicKey(), message, forged));

  const auto other = SigningKey::generate();
  EXPECT_NE(other.publicKey(), key.publicKey());
  EXPECT_FALSE(verify(other.publicKey(), message, signature));
}

TEST(Signature, KeyIdIsTheStartOfSha256) {
  // SHA-256 of 32 zero bytes is 66687aad f862bd77...
  EXPECT_EQ(keyId(PublicKey{}), (KeyId{0x66, 0x68, 0x7a, 0xad}));
  const auto a = SigningKey::generate().publicKey();
  const auto b = SigningKey::generate().publicKey();
  EXPECT_EQ(keyId(a), keyId(a));
  EXPECT_NE(keyId(a), keyId(b));
}

TEST(TemplateKeys, AreRandom) {
  const auto a = TemplateKey::generate();
  const auto b = TemplateKey::generate();
  EXPECT_NE(std::memcmp(a.data(), b.data(), kTemplateKeySize), 0);
}

class KeyFiles : public ::testing::Test {
 protected:
  test::TempDir dir_;
  SigningKey key_ = SigningKey::generate();

  fs::path savedSigningKey() {
    auto path = dir_ / "school.key";
    const auto saved = key_.save(path);
    EXPECT_TRUE(saved) << saved.error().message;
    return path;
  }

  template <typename T>
  static void expectError(const Result<T>& result, ErrorCode code, const fs::path& path,
                          const std::string& fragment) {
    ASSERT_FALSE(result) << path;
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_EQ(contains(result.error().message, fragment), "");
    EXPECT_EQ(contains(result.error().message, path.string()), "") << "the message names the file";
  }
};

TEST_F(KeyFiles, SigningKeyRoundTrip) {
  const auto path = savedSigningKey();
  EXPECT_EQ(modeOf(path), 0600U);
  const std::string text = test::readFile(path);
  EXPECT_EQ(text.size(), kSigningKeyHeader.size() + 1 + 128 + 1);
  EXPECT_EQ(text.rfind("facegate-signing-key-v1\n", 0), 0U);
  EXPECT_EQ(text.back(), '\n');

  const auto loaded = SigningKey::load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->publicKey(), key_.publicKey());
  const auto message = bytesOf("a badge");
  EXPECT_TRUE(verify(key_.publicKey(), message, loaded->sign(message)));
  EXPECT_EQ(loaded->sign(message), key_.sign(message));  // Ed25519 is deterministic
}

TEST_F(KeyFiles, PublicKeyRoundTripIsWorldReadableWhateverTheUmask) {
  const auto path = dir_ / "school.pub";
  const mode_t old = ::umask(077);
  const auto saved = savePublicKey(key_.publicKey(), path);
  ::umask(old);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(modeOf(path), 0644U);
  EXPECT_EQ(test::readFile(path).size(), kPublicKeyHeader.size() + 1 + 64 + 1);
  const auto loaded = loadPublicKey(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, key_.publicKey());
}

TEST_F(KeyFiles, TemplateKeyRoundTrip) {
  const auto key = TemplateKey::generate();
  const auto path = dir_ / "template.key";
  ASSERT_TRUE(key.save(path));
  EXPECT_EQ(modeOf(path), 0600U);
  EXPECT_EQ(test::readFile(path).rfind("facegate-template-key-v1\n", 0), 0U);
  const auto loaded = TemplateKey::load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(std::memcmp(loaded->data(), key.data(), kTemplateKeySize), 0);
}

TEST_F(KeyFiles, AcceptsUpperCaseHexAndNoFinalNewline) {
  const auto path = savedSigningKey();
  std::string text = test::readFile(path);
  text.pop_back();
  std::transform(text.begin() + 24, text.end(), text.begin() + 24,
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  test::writeFile(path, text);
  ::chmod(path.c_str(), 0600);
  const auto loaded = SigningKey::load(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->publicKey(), key_.publicKey());
}

TEST_F(KeyFiles, RefusesToOverwrite) {
  const auto path = savedSigningKey();
  const std::string before = test::readFile(path);
  const auto again = SigningKey::generate().save(path);
  expectError(again, ErrorCode::AlreadyExists, path, "refusing to overwrite");
  EXPECT_EQ(test::readFile(path), before);

  test::writeFile(dir_ / "school.pub", "something precious");
  expectError(savePublicKey(key_.publicKey(), dir_ / "school.pub"), ErrorCode::AlreadyExists,
              dir_ / "school.pub", "already exists");
  EXPECT_EQ(test::readFile(dir_ / "school.pub"), "something precious");
}

TEST_F(KeyFiles, DoesNotFollowASymlinkWhenSaving) {
  const auto target = dir_ / "target";
  const auto link = dir_ / "school.key";
  fs::create_symlink(target, link);  // dangling: O_CREAT alone would create `target`
  expectError(key_.save(link), ErrorCode::AlreadyExists, link, "refusing to overwrite");
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(KeyFiles, SaveIntoAMissingDirectoryFails) {
  const auto path = dir_ / "no-such-dir" / "school.key";
  expectError(key_.save(path), ErrorCode::StorageFailure, path, "cannot create");
}

TEST_F(KeyFiles, RefusesASecretKeyReadableByOthers) {
  const auto path = savedSigningKey();
  for (const mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    ::chmod(path.c_str(), mode);
    expectError(SigningKey::load(path), ErrorCode::Refused, path, "chmod 600");
  }
  const auto templatePath = dir_ / "template.key";
  ASSERT_TRUE(TemplateKey::generate().save(templatePath));
  ::chmod(templatePath.c_str(), 0644);
  expectError(TemplateKey::load(templatePath), ErrorCode::Refused, templatePath, "chmod 600");
  ::chmod(path.c_str(), 0400);  // read-only for its owner is fine
  EXPECT_TRUE(SigningKey::load(path));
}

TEST_F(KeyFiles, NamesTheOtherKindOfKeyFile) {
  const auto signingPath = savedSigningKey();
  const auto publicPath = dir_ / "school.pub";
  ASSERT_TRUE(savePublicKey(key_.publicKey(), publicPath));
  ::chmod(publicPath.c_str(), 0600);  // past the permission check, to reach the header
  const auto templatePath = dir_ / "template.key";
  ASSERT_TRUE(TemplateKey::generate().save(templatePath));

  expectError(SigningKey::load(publicPath), ErrorCode::InvalidArgument, publicPath,
              "is a public key file, expected a signing key");
  expectError(loadPublicKey(signingPath), ErrorCode::InvalidArgument, signingPath,
              "is a signing key file, expected a public key");
  expectError(SigningKey::load(templatePath), ErrorCode::InvalidArgument, templatePath,
              "is a template key file, expected a signing key");
  expectError(TemplateKey::load(signingPath), ErrorCode::InvalidArgument, signingPath,
              "is a signing key file, expected a template key");
}

TEST_F(KeyFiles, RejectsAForeignHeader) {
  const auto path = dir_ / "id_ed25519";
  test::writeFile(path, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n");
  ::chmod(path.c_str(), 0600);
  expectError(SigningKey::load(path), ErrorCode::InvalidArgument, path,
              "not a facegate signing key file");
  const auto v2 = dir_ / "v2.key";
  test::writeFile(v2, "facegate-signing-key-v2\n" + std::string(128, 'a') + "\n");
  ::chmod(v2.c_str(), 0600);
  expectError(SigningKey::load(v2), ErrorCode::InvalidArgument, v2,
              "its first line is not 'facegate-signing-key-v1'");
}

TEST_F(KeyFiles, RejectsBadHexWithoutQuotingTheKey) {
  const auto path = savedSigningKey();
  const std::string good = test::readFile(path);
  std::string bad = good;
  bad[24 + 40] = 'g';
  test::writeFile(path, bad);
  const auto loaded = SigningKey::load(path);
  expectError(loaded, ErrorCode::InvalidArgument, path, "not a hex digit on line 2, column 41");
  EXPECT_EQ(loaded.error().message.find(good.substr(24, 16)), std::string::npos)
      << "the message must not quote the key: " << loaded.error().message;

  bad = good;
  // (Not insert(pos, "\n"): GCC 12 at -O3 reports a false -Wrestrict on it.)
  bad.insert(bad.begin() + 24 + 64, '\n');
  test::writeFile(path, bad);
  expectError(SigningKey::load(path), ErrorCode::InvalidArgument, path, "extra lines");
}

TEST_F(KeyFiles, RejectsTruncatedFilesAtEveryLength) {
  const auto path = savedSigningKey();
  const std::string whole = test::readFile(path);
  for (std::size_t length = 0; length + 1 < whole.size(); ++length) {
    test::writeFile(path, whole.substr(0, length));
    const auto loaded = SigningKey::load(path);
    ASSERT_FALSE(loaded) << length;
    EXPECT_EQ(loaded.error().code, ErrorCode::InvalidArgument) << loaded.error().message;
    if (length > kSigningKeyHeader.size()) {
      EXPECT_EQ(contains(loaded.error().message, "expected 128"), "") << length;
    }
  }
}

TEST_F(KeyFiles, RejectsAnOverlongKey) {
  const auto path = savedSigningKey();
  std::string text = test::readFile(path);
  text.insert(text.size() - 1, "00");
  test::writeFile(path, text);
  expectError(SigningKey::load(path), ErrorCode::InvalidArgument, path,
              "holds 130 hex digits on line 2, expected 128");
  test::writeFile(path, std::string(5000, 'a'));
  expectError(SigningKey::load(path), ErrorCode::InvalidArgument, path, "too large");
}

TEST_F(KeyFiles, RejectsASigningKeyWhoseHalvesDisagree) {
  const auto path = savedSigningKey();
  std::string text = test::readFile(path);
  text[text.size() - 2] = text[text.size() - 2] == '0' ? '1' : '0';  // in the public half
  test::writeFile(path, text);
  expectError(SigningKey::load(path), ErrorCode::InvalidArgument, path, "does not match");
}

TEST_F(KeyFiles, RejectsAnInvalidPublicKey) {
  const auto path = dir_ / "zero.pub";
  test::writeFile(path, "facegate-public-key-v1\n" + std::string(64, '0') + "\n");
  expectError(loadPublicKey(path), ErrorCode::InvalidArgument, path,
              "not hold a valid Ed25519 public key");
}

TEST_F(KeyFiles, MissingFile) {
  const auto path = dir_ / "nobody.key";
  expectError(SigningKey::load(path), ErrorCode::FileNotFound, path, "does not exist");
  expectError(loadPublicKey(path), ErrorCode::FileNotFound, path, "does not exist");
  expectError(TemplateKey::load(path), ErrorCode::FileNotFound, path, "does not exist");
}

TEST_F(KeyFiles, DirectoryIsNotAKeyFile) {
  expectError(loadPublicKey(dir_.path()), ErrorCode::FileUnreadable, dir_.path(),
              "not a regular file");
}

TEST_F(KeyFiles, FifoDoesNotHang) {
  const auto path = dir_ / "fifo.pub";
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
  expectError(loadPublicKey(path), ErrorCode::FileUnreadable, path, "not a regular file");
}

// As root (CI) the check runs unprivileged, on its own key file that its mode forbids it to
// read, next to a readable one: root reads any file.
TEST_F(KeyFiles, UnreadableFile) {
  const auto path = savedSigningKey();
  const auto readable = dir_ / "readable.key";
  ASSERT_TRUE(key_.save(readable));
  test::giveToUnprivilegedUser(path);
  test::giveToUnprivilegedUser(readable);
  ::chmod(path.c_str(), 0);
  const std::string found = test::runUnprivileged([&] {
    if (auto loaded = SigningKey::load(readable); !loaded) {
      return "the readable key was refused: " + loaded.error().message;
    }
    const auto loaded = SigningKey::load(path);
    return loaded ? std::string("loaded")
                  : fmt::format("{}: {}", toString(loaded.error().code), loaded.error().message);
  });
  EXPECT_EQ(contains(found, "file-unreadable: "), "");
  EXPECT_EQ(contains(found, path.string()), "");
  EXPECT_EQ(contains(found, "Permission denied"), "");
}

// Review, issue 11: keygen with school.pub present and the signing key absent wrote a
// signing key that matched nothing, then failed. saveSchoolKeys makes all or nothing.

TEST_F(KeyFiles, SchoolKeysAreWrittenTogetherWithTheirModes) {
  const auto templateKey = TemplateKey::generate();
  const SchoolKeyPaths paths{dir_ / "school-signing.key", dir_ / "school.pub",
                             dir_ / "template.key"};
  const mode_t old = ::umask(0);
  const auto saved = saveSchoolKeys(key_, &templateKey, paths);
  ::umask(old);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(modeOf(paths.signingKey), 0600U);
  EXPECT_EQ(modeOf(paths.publicKey), 0644U);
  EXPECT_EQ(modeOf(*paths.templateKey), 0600U);
  EXPECT_EQ(SigningKey::load(paths.signingKey)->publicKey(), *loadPublicKey(paths.publicKey));
  EXPECT_EQ(test::directoryEntries(dir_.path()),
            (std::vector<std::string>{"school-signing.key", "school.pub", "template.key"}));
}

TEST_F(KeyFiles, SchoolKeysWriteNothingWhenAnyTargetIsTaken) {
  const auto templateKey = TemplateKey::generate();
  // Each target taken in turn, by a file, a dangling link and a directory.
  const std::vector<std::string> names{"school-signing.key", "school.pub", "template.key"};
  for (const auto& taken : names) {
    for (const std::string what : {"file", "link", "directory"}) {
      test::TempDir dir;
      const auto at = dir / taken;
      if (what == "file") {
        test::writeFile(at, "precious");
      } else if (what == "link") {
        fs::create_symlink(dir / "target", at);
      } else {
        fs::create_directory(at);
      }
      const auto before = test::directoryEntries(dir.path());
      const auto saved =
          saveSchoolKeys(key_, &templateKey,
                         {dir / "school-signing.key", dir / "school.pub", dir / "template.key"});
      ASSERT_FALSE(saved) << taken << " " << what;
      EXPECT_EQ(contains(saved.error().message, at.string()), "");
      EXPECT_EQ(test::directoryEntries(dir.path()), before)
          << taken << " " << what << ": a half-made set";
      if (what == "file") {
        EXPECT_EQ(test::readFile(at), "precious");
      }
      if (what == "link") {
        EXPECT_FALSE(fs::exists(dir / "target"));
      }
    }
  }
}

TEST_F(KeyFiles, SchoolKeysTakeBackWhatWasPublishedWhenALaterKeyCannotBe) {
  // Both keys given the same name: the name is free when checked, the signing key is
  // published there, then the public key finds it taken. The signing key must go again.
  const auto saved =
      saveSchoolKeys(key_, nullptr, {dir_ / "school.key", dir_ / "school.key", std::nullopt});
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::AlreadyExists) << saved.error().message;
  EXPECT_TRUE(test::directoryEntries(dir_.path()).empty())
      << "a signing key without its public key";
}

}  // namespace
}  // namespace facegate::badge
