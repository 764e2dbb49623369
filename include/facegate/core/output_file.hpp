#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "facegate/core/error.hpp"

namespace facegate {

// Every file facegate writes — badges, keys, plots — is written through OutputFile, so that
// none is ever written through a symbolic link, into a file that somebody else created or
// prepared, or left half-made.
//
// The contract:
// - The content is built in memory first (cv::imencode, never cv::imwrite or std::ofstream)
//   and written in one call to write(), then fsync'ed.
// - Files are created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, with exactly `mode`
//   whatever the umask (0600 unless the caller says otherwise: only a public key is not).
// - Nothing that exists at the path is written to or replaced — a file, a directory, a
//   symbolic link, dangling or not — unless the caller asks for Overwrite::Replace (a
//   command's --force). Replace writes the new file under a temporary name in the same
//   directory and renames it over the path: a symbolic link there is itself replaced, never
//   written through, and the old file stays intact until the rename. A directory is never
//   replaced.
// - Until publish() has succeeded, destroying the OutputFile (or discard()) removes what it
//   created: it first truncates the file through its own descriptor, so the content (a badge
//   secret) is gone even if the name was moved meanwhile, then unlinks the name if it still
//   names that file.
// - The directory is opened once: every later step works on that directory, whatever
//   happens to the path's other components.
//
// Two ways to start one:
// - reserve(path): the file is created at `path` at once. The name is taken before a long
//   job (an enrolment) so that nobody can put a file or a link there meanwhile; the content
//   comes later with write(), and publish() declares it done.
// - stage(path): a temporary file next to `path` (".<name>.tmp-<random>"); publish() moves
//   it to `path`: Refuse with renameat2(RENAME_NOREPLACE) (link() + unlink() where the file
//   system lacks it), Replace with rename().
//
// Errors name the file: AlreadyExists when something is at the path (the message says
// whether a file or a symbolic link); StorageFailure when it cannot be created or written
// (no such directory, permission denied, a directory at the path, disk full, I/O error);
// InvalidArgument for a path that names no file ("dir/", "..").
//
// Move-only. One thread at a time.
enum class Overwrite {
  Refuse,   // the default everywhere: never replace anything
  Replace,  // an explicit --force: replace a file or a symbolic link (not a directory)
};

class OutputFile {
 public:
  static Result<OutputFile> reserve(const std::filesystem::path& path, mode_t mode = 0600);
  static Result<OutputFile> stage(const std::filesystem::path& path, mode_t mode = 0600);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  // Writes the whole content and fsyncs it. Once per file. On failure the file is removed
  // (as by discard()) and this object is spent.
  Result<void> write(std::span<const std::uint8_t> content);
  Result<void> write(std::string_view content);

  // Makes the written file the one at path() and fsyncs its directory. A reserved file is
  // already there (`overwrite` does not apply). After success the file stays when this
  // object is destroyed; discard() can still remove it (undoing the first of several files
  // when a later one fails: after Replace the old file is gone for good).
  Result<void> publish(Overwrite overwrite = Overwrite::Refuse);

  // Removes the file this object created (see the contract above). Idempotent, never fails:
  // what cannot be removed is left truncated.
  void discard() noexcept;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  OutputFile() = default;
  // The name and the directory, opened once; no file yet (reserve() and stage() make it).
  static Result<OutputFile> open(const std::filesystem::path& path);
  void closeAll() noexcept;

  std::filesystem::path path_;  // as the caller gave it, for messages
  std::string name_;            // the final name in the directory
  std::string current_;         // the name the file has now (temporary until published)
  int dirFd_ = -1;
  int fd_ = -1;
  bool written_ = false;
  bool published_ = false;
};

// The whole job for one file whose content is in memory: staged, written, published.
Result<void> writeOutputFile(const std::filesystem::path& path,
                             std::span<const std::uint8_t> content,
                             Overwrite overwrite = Overwrite::Refuse, mode_t mode = 0600);
Result<void> writeOutputFile(const std::filesystem::path& path, std::string_view content,
                             Overwrite overwrite = Overwrite::Refuse, mode_t mode = 0600);

// Fails as publishing there would fail — AlreadyExists if anything is at `path`,
// StorageFailure if its directory is missing or a directory is at `path` — without creating
// anything. For a command that checks all its outputs before doing any work, e.g. keygen,
// or before a long evaluation. A check only: creation itself stays exclusive.
Result<void> checkCanCreate(const std::filesystem::path& path,
                            Overwrite overwrite = Overwrite::Refuse);

}  // namespace facegate
