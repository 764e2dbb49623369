#pragma once

// Helpers shared by facegate's test executables.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace facegate::test {

// tests/data in the source tree (set by CMake).
std::filesystem::path dataDir();

// The directory holding the dlib models; calls GTEST_SKIP-worthy logic through
// modelsUnavailable() below. Fails the test (never skips) when models are missing and
// FACEGATE_MODELS_UNAVAILABLE is not set: CI fetches them, so a missing model is a defect.
std::filesystem::path modelDir();

// True only when the environment variable FACEGATE_MODELS_UNAVAILABLE=1 says so.
bool modelsUnavailable();

// A fresh directory under the system temp dir, removed (with its content) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exitCode = -1;  // the process's exit status, or 128 + signal if it was killed
  std::string out;
  std::string err;
};

// Environment changes for a child: each name set to its value, or removed when nullopt.
using EnvironmentChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Runs `program` with `args` (no shell), capturing stdout and stderr; standard input is
// `input`, or /dev/null without it.
CommandResult runCommand(const std::filesystem::path& program, const std::vector<std::string>& args,
                         const EnvironmentChanges& environment = {},
                         const std::optional<std::string>& input = std::nullopt);

// The same, started in the background: wait() reaps it and returns what runCommand would
// have. The destructor kills and reaps a command that was not waited for.
class BackgroundCommand {
 public:
  BackgroundCommand(const std::filesystem::path& program, const std::vector<std::string>& args,
                    const EnvironmentChanges& environment = {});
  ~BackgroundCommand();
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;
  bool running();  // not exited yet
  CommandResult wait();

 private:
  TempDir io_;
  pid_t pid_ = -1;
  std::optional<CommandResult> result_;
};

// The unprivileged account the permission tests drop to: `nobody` (65534 when the system
// has no such entry).
struct Unprivileged {
  uid_t uid;
  gid_t gid;
};
Unprivileged unprivilegedUser();

// Runs `check` as an unprivileged user and returns what it returned. Root reads and writes
// whatever a file's mode says, so a test of permissions must not run as root — and CI runs
// as root. As root, `check` runs in a forked child that has dropped to unprivilegedUser()
// (setgroups, setresgid, setresuid, then verified: a child that could become root again is
// an error); otherwise it runs right here. `check` must not use GoogleTest assertions (the
// child's would be lost): it returns its findings as text, and the test asserts on that.
// Throws std::runtime_error when the child cannot be started, cannot drop its privileges
// or dies, so that such a test fails rather than passes.
std::string runUnprivileged(const std::function<std::string()>& check);

// Prepares `path` for such a check: as root, hands it to unprivilegedUser() (chown), so that
// the check sees it as its own file, and makes its directory traversable; otherwise nothing
// (the file is already the test's own). Throws std::runtime_error if it cannot.
void giveToUnprivilegedUser(const std::filesystem::path& path);

// The names in `dir` (not recursive), sorted: what a test compares before and after an
// operation that must leave nothing behind.
std::vector<std::string> directoryEntries(const std::filesystem::path& dir);

// Writes bytes to a file, replacing it.
void writeFile(const std::filesystem::path& path, const std::string& bytes);
std::string readFile(const std::filesystem::path& path);

}  // namespace facegate::test

#define FACEGATE_REQUIRE_MODELS()                                                    \
  do {                                                                               \
    if (::facegate::test::modelsUnavailable()) {                                     \
      GTEST_SKIP() << "FACEGATE_MODELS_UNAVAILABLE=1: model-dependent test skipped"; \
    }                                                                                \
  } while (false)
