#pragma once

// Helpers shared by facegate's test executables.

#include <filesystem>
#include <string>
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

// Runs `program` with `args` (no shell), capturing stdout and stderr.
CommandResult runCommand(const std::filesystem::path& program,
                         const std::vector<std::string>& args);

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
