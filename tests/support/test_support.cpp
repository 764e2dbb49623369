#include "test_support.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

extern char** environ;  // NOLINT

namespace facegate::test {
namespace fs = std::filesystem;

fs::path dataDir() {
  return FACEGATE_TEST_DATA_DIR;
}

bool modelsUnavailable() {
  const char* v = std::getenv("FACEGATE_MODELS_UNAVAILABLE");
  return v != nullptr && std::string(v) == "1";
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const auto candidate = fs::temp_directory_path() / ("facegate-test-" + std::to_string(rd()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

// environ with `changes` applied.
std::vector<std::string> environmentWith(const EnvironmentChanges& changes) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool changed = false;
    for (const auto& change : changes) {
      changed = changed || change.first == name;
    }
    if (!changed) {
      out.push_back(entry);
    }
  }
  for (const auto& [name, value] : changes) {
    if (value) {
      out.push_back(name + "=" + *value);
    }
  }
  return out;
}

pid_t spawnCapturing(const fs::path& program, const std::vector<std::string>& args,
                     const EnvironmentChanges& environment, const fs::path& outPath,
                     const fs::path& errPath, const fs::path& inPath = "/dev/null") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 0, inPath.c_str(), O_RDONLY, 0);

  std::vector<std::string> storage;
  storage.push_back(program.string());
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> envStorage = environmentWith(environment);
  std::vector<char*> envp;
  for (auto& s : envStorage) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int exitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

CommandResult runCommand(const fs::path& program, const std::vector<std::string>& args,
                         const EnvironmentChanges& environment,
                         const std::optional<std::string>& input) {
  TempDir io;
  const auto outPath = io / "stdout";
  const auto errPath = io / "stderr";
  fs::path inPath = "/dev/null";
  if (input) {
    inPath = io / "stdin";
    writeFile(inPath, *input);
  }
  const pid_t pid = spawnCapturing(program, args, environment, outPath, errPath, inPath);
  CommandResult result;
  if (pid < 0) {
    result.err = "posix_spawn failed";
    return result;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exitCode = exitCodeOf(status);
  result.out = readFile(outPath);
  result.err = readFile(errPath);
  return result;
}

BackgroundCommand::BackgroundCommand(const fs::path& program, const std::vector<std::string>& args,
                                     const EnvironmentChanges& environment)
    : pid_(spawnCapturing(program, args, environment, io_ / "stdout", io_ / "stderr")) {
  if (pid_ < 0) {
    throw std::runtime_error("posix_spawn failed for " + program.string());
  }
}

BackgroundCommand::~BackgroundCommand() {
  if (!result_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool BackgroundCommand::running() {
  if (result_) {
    return false;
  }
  int status = 0;
  const pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    result_ = CommandResult{exitCodeOf(status), readFile(io_ / "stdout"), readFile(io_ / "stderr")};
    return false;
  }
  return true;
}

CommandResult BackgroundCommand::wait() {
  if (!result_) {
    int status = 0;
    waitpid(pid_, &status, 0);
    result_ = CommandResult{exitCodeOf(status), readFile(io_ / "stdout"), readFile(io_ / "stderr")};
  }
  return *result_;
}

Unprivileged unprivilegedUser() {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwnam_r("nobody", &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return {found->pw_uid, found->pw_gid};
  }
  return {65534, 65534};
}

std::string runUnprivileged(const std::function<std::string()>& check) {
  if (::geteuid() != 0) {
    return check();
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const Unprivileged user = unprivilegedUser();
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::close(fds[0]);
    // 3: could not drop; 4: could become root again. 0 with the findings on the pipe.
    if (::setgroups(0, nullptr) != 0 || ::setresgid(user.gid, user.gid, user.gid) != 0 ||
        ::setresuid(user.uid, user.uid, user.uid) != 0) {
      ::_exit(3);
    }
    if (::setresuid(0, 0, 0) == 0 || ::geteuid() == 0) {
      ::_exit(4);
    }
    std::string findings;
    try {
      findings = check();
    } catch (const std::exception& e) {
      findings = std::string("exception: ") + e.what();
    }
    std::size_t done = 0;
    while (done < findings.size()) {
      const ssize_t n = ::write(fds[1], findings.data() + done, findings.size() - done);
      if (n <= 0) {
        ::_exit(5);
      }
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string findings;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    findings.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("the unprivileged child failed (status " +
                             std::to_string(exitCodeOf(status)) +
                             "; 3: could not drop privileges, 4: could regain them)");
  }
  return findings;
}

void giveToUnprivilegedUser(const fs::path& path) {
  if (::geteuid() != 0) {
    return;
  }
  const Unprivileged user = unprivilegedUser();
  if (::lchown(path.c_str(), user.uid, user.gid) != 0) {
    throw std::runtime_error("cannot chown " + path.string());
  }
  std::error_code ec;
  fs::permissions(path.parent_path(), fs::perms::others_exec, fs::perm_options::add, ec);
  if (ec) {
    throw std::runtime_error("cannot make " + path.parent_path().string() + " traversable");
  }
}

void writeFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> directoryEntries(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace facegate::test
