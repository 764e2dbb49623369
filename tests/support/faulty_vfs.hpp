#pragma once

#include <cstdint>

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

}  // namespace facegate::test
