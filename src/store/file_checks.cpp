#include "file_checks.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace facegate::store::detail {
namespace fs = std::filesystem;

namespace {

std::string userName(uid_t uid) {
  const long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return fmt::format("uid {}", uid);
}

std::string_view kindOf(mode_t mode) {
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  return "a special file";
}

}  // namespace

Result<std::optional<FileIdentity>> statDatabaseFile(const fs::path& file, const fs::path& database,
                                                     std::string_view role) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return std::optional<FileIdentity>{};
    }
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot look at {}: {}", file.string(), std::strerror(errno)));
  }
  // "database X" or "X (the write-ahead log of database Y)".
  const std::string what = role.empty() ? fmt::format("database {}", file.string())
                                        : fmt::format("{} (the {} of database {})", file.string(),
                                                      role, database.string());
  if (S_ISLNK(st.st_mode)) {
    return fail(ErrorCode::Refused,
                role.empty()
                    ? fmt::format("{} is a symbolic link, which facegate does not follow to a "
                                  "database: give the path of the database file itself, after "
                                  "checking who owns it",
                                  what)
                    : fmt::format("{} is a symbolic link, which facegate does not follow: remove "
                                  "the link (SQLite makes the file itself when it needs one)",
                                  what));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::StorageFailure, fmt::format("{} is a directory, not a file", what));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("{} is {}, not a regular file: give the path of a database file", what,
                            kindOf(st.st_mode)));
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    const std::string owner = userName(st.st_uid);
    const std::string example = st.st_uid == 0 ? std::string("`sudo facegate ...`")
                                               : fmt::format("`sudo -u {} facegate ...`", owner);
    if (me == 0) {
      // Root too: a database is used only as its owner, the account the gate runs as.
      return fail(ErrorCode::Refused,
                  fmt::format("{} belongs to {}, and facegate uses a database only as the user "
                              "who owns it, root included: run the command as that user, e.g. {}",
                              what, owner, example));
    }
    return fail(ErrorCode::Refused,
                fmt::format("{} belongs to {}, not to {} who runs this command: if {} is the "
                            "account facegate runs as, run the command as that user ({}); "
                            "otherwise the file is not facegate's: move it away or use another "
                            "path",
                            what, owner, userName(me), owner, example));
  }
  if ((st.st_mode & 077) != 0) {
    return fail(ErrorCode::Refused,
                fmt::format("{} can be read or written by group or others (mode {:04o}), and {}: "
                            "run `chmod 600 {}` so that only its owner can use it",
                            what, st.st_mode & 07777,
                            role.empty() ? "it holds pupils' names and sealed templates"
                                         : "the database's pages and locks go through it",
                            file.string()));
  }
  return std::optional<FileIdentity>{FileIdentity{st.st_dev, st.st_ino}};
}

Result<std::optional<FileIdentity>> checkFilesBeforeOpen(const fs::path& path) {
  auto found = statDatabaseFile(path, path, "");
  if (!found) {
    return tl::unexpected(found.error());
  }
  for (const Companion& companion : kCompanions) {
    const fs::path file = path.string() + std::string(companion.suffix);
    if (auto checked = statDatabaseFile(file, path, companion.role); !checked) {
      return tl::unexpected(checked.error());
    }
  }
  return found;
}

Result<std::optional<FileIdentity>> prepareFile(const fs::path& path,
                                                const Database::Options& options) {
  // Whose files these are is settled before SQLite reads a byte of them: it would replay a
  // -wal or roll back a -journal it finds, into the database.
  auto found = checkFilesBeforeOpen(path);
  if (!found) {
    return tl::unexpected(found.error());
  }
  if (*found) {
    return found;
  }
  // SQLite would delete a -wal found beside an empty database: the pages of the last
  // transactions (audit records among them) would be lost without a word.
  const fs::path wal = path.string() + "-wal";
  if (struct stat st{}; ::lstat(wal.c_str(), &st) == 0) {
    return fail(ErrorCode::StorageCorrupt,
                fmt::format("database {} does not exist but its write-ahead log {} does: the "
                            "database was moved or deleted without it; put the database back "
                            "beside it, or remove the -wal file to start afresh",
                            path.string(), wal.string()));
  }
  if (!options.create || options.readOnly) {
    return fail(ErrorCode::NotFound, fmt::format("database {} does not exist", path.string()));
  }
  // Created here, exclusively and never through a link, so that it is this user's and 0600
  // from the first byte whatever the umask: SQLite never creates it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create database {}: {}", path.string(), std::strerror(errno)));
  }
  if (fd < 0) {
    // Someone created it since the check above: judged like any existing file.
    auto raced = statDatabaseFile(path, path, "");
    if (raced && !*raced) {
      return fail(ErrorCode::StorageFailure,
                  fmt::format("database {} appeared and vanished while it was being created: "
                              "check what else uses this path, and try again",
                              path.string()));
    }
    return raced;
  }
  struct stat st {};
  const bool stated = ::fstat(fd, &st) == 0;
  const int error = errno;
  ::close(fd);
  if (!stated) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot stat database {}: {}", path.string(), std::strerror(error)));
  }
  return std::optional<FileIdentity>{FileIdentity{st.st_dev, st.st_ino}};
}

}  // namespace facegate::store::detail
