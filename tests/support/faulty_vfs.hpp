#pragma once

#include <cstdint>
#include <functional>
#include <string>

// An SQLite VFS for fault-injection tests: it wraps the platform's default VFS and, while a
// fault is armed, makes writes fail as a full disk would (SQLITE_FULL) or fsync fail
// (SQLITE_IOERR_FSYNC). Installed as the process's default VFS, so the production code opens
// its databases through it unchanged. Disarmed, it only forwards.
namespace facegate::test {

enum class StorageFault { None, DiskFull, FsyncFails };

// Registers the VFS as the default (idempotent). Call before opening the databases.
void installFaultyVfs();
void armStorageFault(StorageFault fault);
// How many operations failed because of an armed fault since installation.
std::uint64_t injectedStorageFailures();

// Runs `hook` with the file name just before SQLite opens a file (the database, its WAL or
// rollback journal; not the -shm, which SQLite maps without opening it through the VFS),
// until cleared with an empty function. For tests of what happens when another process
// changes the files between facegate's checks and SQLite's open. Not thread-safe.
void beforeOpen(std::function<void(const std::string& name)> hook);

}  // namespace facegate::test
