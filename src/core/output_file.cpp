#include "facegate/core/output_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include <fmt/format.h>

namespace facegate {
namespace fs = std::filesystem;

namespace {

constexpr int kCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
// The final name's share of a temporary name, so that ".<name>.tmp-<12 hex>" stays under
// NAME_MAX even for a long name.
constexpr std::size_t kMaxNameInTemp = 64;

std::string errnoText(int error) {
  return std::strerror(error);
}

fs::path directoryOf(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

Result<std::string> fileNameOf(const fs::path& path) {
  const std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..") {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} does not name a file to write", path.string()));
  }
  return name;
}

Result<int> openDirectory(const fs::path& path) {
  const fs::path dir = directoryOf(path);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return fail(ErrorCode::StorageFailure,
                  fmt::format("cannot create {}: the directory {} does not exist", path.string(),
                              dir.string()));
    }
    if (error == ENOTDIR) {
      return fail(ErrorCode::StorageFailure, fmt::format("cannot create {}: {} is not a directory",
                                                         path.string(), dir.string()));
    }
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create {}: {}", path.string(), errnoText(error)));
  }
  return fd;
}

// The error for "something is at `name`", saying what it is.
Error occupied(int dirFd, const std::string& name, const fs::path& path) {
  struct stat st {};
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return {ErrorCode::AlreadyExists,
              fmt::format("{} is a symbolic link; refusing to overwrite it or to write through "
                          "it",
                          path.string())};
    }
    if (S_ISDIR(st.st_mode)) {
      return {ErrorCode::StorageFailure,
              fmt::format("cannot create {}: it is a directory; give the name of a file",
                          path.string())};
    }
  }
  return {ErrorCode::AlreadyExists,
          fmt::format("{} already exists; refusing to overwrite it", path.string())};
}

// Nothing at `name`, or what is there may be replaced: a directory never.
Result<void> checkPath(int dirFd, const std::string& name, const fs::path& path,
                       Overwrite overwrite) {
  struct stat st {};
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int error = errno;
    if (error == ENOENT) {
      return {};
    }
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create {}: {}", path.string(), errnoText(error)));
  }
  if (overwrite == Overwrite::Replace && !S_ISDIR(st.st_mode)) {
    return {};
  }
  return tl::unexpected(occupied(dirFd, name, path));
}

void syncDirectory(int dirFd) noexcept {
  // Best effort: the new directory entry made durable. Some file systems refuse to fsync a
  // directory, and the file's own data is already on disk.
  (void)::fsync(dirFd);
}

std::string temporaryName(const std::string& name) {
  std::array<unsigned char, 6> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    // No entropy source: a name from the clock and pid. O_EXCL still protects the file,
    // the random part only avoids collisions.
    const auto seed = static_cast<unsigned long long>(::getpid()) ^
                      static_cast<unsigned long long>(std::time(nullptr));
    std::memcpy(random.data(), &seed, random.size());
  }
  std::string hex;
  for (const unsigned char c : random) {
    hex += fmt::format("{:02x}", c);
  }
  return fmt::format(".{}.tmp-{}", name.substr(0, kMaxNameInTemp), hex);
}

// Replaces nothing: renameat2(RENAME_NOREPLACE), or link() + unlink() where the file
// system does not offer it. Returns 0 or an errno value.
int renameNoReplace(int dirFd, const std::string& from, const std::string& to) {
  if (::renameat2(dirFd, from.c_str(), dirFd, to.c_str(), RENAME_NOREPLACE) == 0) {
    return 0;
  }
  const int error = errno;
  if (error != EINVAL && error != ENOSYS) {
    return error;
  }
  if (::linkat(dirFd, from.c_str(), dirFd, to.c_str(), 0) != 0) {
    return errno;
  }
  (void)::unlinkat(dirFd, from.c_str(), 0);
  return 0;
}

}  // namespace

Result<OutputFile> OutputFile::open(const fs::path& path) {
  auto name = fileNameOf(path);
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto dirFd = openDirectory(path);
  if (!dirFd) {
    return tl::unexpected(dirFd.error());
  }
  OutputFile file;
  file.path_ = path;
  file.name_ = *name;
  file.dirFd_ = *dirFd;
  return file;
}

Result<OutputFile> OutputFile::reserve(const fs::path& path, mode_t mode) {
  auto opened = open(path);
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  OutputFile file = std::move(*opened);
  const std::string& name = file.name_;
  file.current_ = name;
  file.fd_ = ::openat(file.dirFd_, name.c_str(), kCreateFlags, 0600);
  if (file.fd_ < 0) {
    const int error = errno;
    if (error == EEXIST) {
      return tl::unexpected(occupied(file.dirFd_, name, path));
    }
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create {}: {}", path.string(), errnoText(error)));
  }
  // The umask may have removed bits from `mode` (a public key must stay world-readable).
  if (::fchmod(file.fd_, mode) != 0) {
    const int error = errno;
    file.discard();
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot set the permissions of {}: {} (the file was removed)",
                            path.string(), errnoText(error)));
  }
  return file;
}

Result<OutputFile> OutputFile::stage(const fs::path& path, mode_t mode) {
  auto opened = open(path);
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  OutputFile file = std::move(*opened);
  const std::string& name = file.name_;
  for (int attempt = 0; attempt < 16 && file.fd_ < 0; ++attempt) {
    file.current_ = temporaryName(name);
    file.fd_ = ::openat(file.dirFd_, file.current_.c_str(), kCreateFlags, 0600);
    if (file.fd_ < 0 && errno != EEXIST) {
      const int error = errno;
      file.current_.clear();
      return fail(ErrorCode::StorageFailure, fmt::format("cannot create a file next to {}: {}",
                                                         path.string(), errnoText(error)));
    }
  }
  if (file.fd_ < 0) {
    file.current_.clear();
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create a temporary file next to {}: every name tried was "
                            "taken",
                            path.string()));
  }
  if (::fchmod(file.fd_, mode) != 0) {
    const int error = errno;
    file.discard();
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot set the permissions of a file for {}: {}", path.string(),
                            errnoText(error)));
  }
  return file;
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      current_(std::move(other.current_)),
      dirFd_(std::exchange(other.dirFd_, -1)),
      fd_(std::exchange(other.fd_, -1)),
      written_(other.written_),
      published_(std::exchange(other.published_, true)) {}

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
  if (this != &other) {
    if (!published_) {
      discard();
    }
    closeAll();
    path_ = std::move(other.path_);
    name_ = std::move(other.name_);
    current_ = std::move(other.current_);
    dirFd_ = std::exchange(other.dirFd_, -1);
    fd_ = std::exchange(other.fd_, -1);
    written_ = other.written_;
    published_ = std::exchange(other.published_, true);
  }
  return *this;
}

OutputFile::~OutputFile() {
  if (!published_) {
    discard();
  }
  closeAll();
}

void OutputFile::closeAll() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (dirFd_ >= 0) {
    ::close(dirFd_);
    dirFd_ = -1;
  }
}

Result<void> OutputFile::write(std::span<const std::uint8_t> content) {
  if (fd_ < 0 || written_ || published_) {
    return fail(ErrorCode::Internal,
                fmt::format("{} was already written or given up", path_.string()));
  }
  written_ = true;
  const auto failAndDiscard = [&](std::string_view what, int error) {
    discard();
    closeAll();
    return fail(ErrorCode::StorageFailure, fmt::format("cannot {} {}: {} (nothing was left behind)",
                                                       what, path_.string(), errnoText(error)));
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd_, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return failAndDiscard("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) {
    return failAndDiscard("write", errno);
  }
  return {};
}

Result<void> OutputFile::write(std::string_view content) {
  return write(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(content.data()),
                                             content.size()));
}

Result<void> OutputFile::publish(Overwrite overwrite) {
  if (fd_ < 0 || !written_ || published_) {
    return fail(ErrorCode::Internal,
                fmt::format("{} cannot be published: not written, given up, or done already",
                            path_.string()));
  }
  if (current_ != name_) {
    if (overwrite == Overwrite::Replace) {
      if (auto r = checkPath(dirFd_, name_, path_, overwrite); !r) {
        return r;
      }
      if (::renameat(dirFd_, current_.c_str(), dirFd_, name_.c_str()) != 0) {
        const int error = errno;
        if (error == EISDIR || error == ENOTEMPTY || error == EEXIST) {
          return tl::unexpected(occupied(dirFd_, name_, path_));
        }
        return fail(ErrorCode::StorageFailure,
                    fmt::format("cannot replace {}: {}", path_.string(), errnoText(error)));
      }
    } else if (const int error = renameNoReplace(dirFd_, current_, name_); error != 0) {
      if (error == EEXIST) {
        return tl::unexpected(occupied(dirFd_, name_, path_));
      }
      return fail(ErrorCode::StorageFailure,
                  fmt::format("cannot create {}: {}", path_.string(), errnoText(error)));
    }
    current_ = name_;
  }
  syncDirectory(dirFd_);
  published_ = true;
  return {};
}

void OutputFile::discard() noexcept {
  if (fd_ < 0 || current_.empty()) {
    return;
  }
  (void)::ftruncate(fd_, 0);
  struct stat mine {};
  struct stat there {};
  if (::fstat(fd_, &mine) == 0 &&
      ::fstatat(dirFd_, current_.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
      mine.st_dev == there.st_dev && mine.st_ino == there.st_ino) {
    (void)::unlinkat(dirFd_, current_.c_str(), 0);
    syncDirectory(dirFd_);
  }
  current_.clear();
  published_ = false;
  ::close(fd_);
  fd_ = -1;
}

Result<void> writeOutputFile(const fs::path& path, std::span<const std::uint8_t> content,
                             Overwrite overwrite, mode_t mode) {
  auto file = OutputFile::stage(path, mode);
  if (!file) {
    return tl::unexpected(file.error());
  }
  if (auto r = file->write(content); !r) {
    return r;
  }
  return file->publish(overwrite);
}

Result<void> writeOutputFile(const fs::path& path, std::string_view content, Overwrite overwrite,
                             mode_t mode) {
  return writeOutputFile(path,
                         std::span<const std::uint8_t>(
                             reinterpret_cast<const std::uint8_t*>(content.data()), content.size()),
                         overwrite, mode);
}

Result<void> checkCanCreate(const fs::path& path, Overwrite overwrite) {
  auto name = fileNameOf(path);
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto dirFd = openDirectory(path);
  if (!dirFd) {
    return tl::unexpected(dirFd.error());
  }
  auto checked = checkPath(*dirFd, *name, path, overwrite);
  ::close(*dirFd);
  return checked;
}

}  // namespace facegate
