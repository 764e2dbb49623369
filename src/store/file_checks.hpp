#pragma once

// The checks a database file and its companions (-wal, -shm, -journal) pass before SQLite
// opens them: a regular file, not a link, this user's, mode 0600. Private to the store.

#include <sys/types.h>

#include <array>
#include <filesystem>
#include <optional>
#include <string_view>

#include "facegate/core/error.hpp"
#include "facegate/store/database.hpp"

namespace facegate::store::detail {

// The files SQLite keeps beside a database, and what to call them in a message.
struct Companion {
  std::string_view suffix;
  std::string_view role;
};
inline constexpr std::array<Companion, 3> kCompanions{{
    {"-wal", "write-ahead log"},
    {"-shm", "shared-memory index"},
    {"-journal", "rollback journal"},
}};

// Which file a path named when it was checked: compared after SQLite has opened it.
struct FileIdentity {
  dev_t device;
  ino_t inode;
  bool operator==(const FileIdentity&) const = default;
};

// lstat()s `file` — the database `database` itself when `role` is empty, else its companion
// of that role — and says why it may not be used: not a regular file, a symbolic link,
// another user's, or open to group or others (it holds names, consent records and sealed
// templates). Returns its identity, or nothing when it does not exist.
Result<std::optional<FileIdentity>> statDatabaseFile(const std::filesystem::path& file,
                                                     const std::filesystem::path& database,
                                                     std::string_view role);

// The database and each companion that exists; the database's identity if it exists.
Result<std::optional<FileIdentity>> checkFilesBeforeOpen(const std::filesystem::path& path);

// Checks the database file and its companions before SQLite opens them, and creates a new
// database file; the identity of the file to open.
Result<std::optional<FileIdentity>> prepareFile(const std::filesystem::path& path,
                                                const Database::Options& options);

}  // namespace facegate::store::detail
