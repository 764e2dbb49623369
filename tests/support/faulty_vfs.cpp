#include "faulty_vfs.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <utility>

#include <sqlite3.h>

namespace facegate::test {
namespace {

std::atomic<StorageFault> armed{StorageFault::None};
std::atomic<std::uint64_t> failures{0};
sqlite3_vfs* realVfs = nullptr;
std::function<void(const std::string&)> openHook;

// Our file: the real VFS's file lives right after this header (szOsFile covers both).
struct FaultyFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* realOf(sqlite3_file* f) {
  return reinterpret_cast<FaultyFile*>(f)->real;
}

int xClose(sqlite3_file* f) {
  return realOf(f)->pMethods->xClose(realOf(f));
}
int xRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return realOf(f)->pMethods->xRead(realOf(f), buf, n, off);
}
int xWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (armed.load() == StorageFault::DiskFull) {
    ++failures;
    return SQLITE_FULL;
  }
  return realOf(f)->pMethods->xWrite(realOf(f), buf, n, off);
}
int xTruncate(sqlite3_file* f, sqlite3_int64 size) {
  return realOf(f)->pMethods->xTruncate(realOf(f), size);
}
int xSync(sqlite3_file* f, int flags) {
  if (armed.load() == StorageFault::FsyncFails) {
    ++failures;
    return SQLITE_IOERR_FSYNC;
  }
  return realOf(f)->pMethods->xSync(realOf(f), flags);
}
int xFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return realOf(f)->pMethods->xFileSize(realOf(f), size);
}
int xLock(sqlite3_file* f, int level) {
  return realOf(f)->pMethods->xLock(realOf(f), level);
}
int xUnlock(sqlite3_file* f, int level) {
  return realOf(f)->pMethods->xUnlock(realOf(f), level);
}
int xCheckReservedLock(sqlite3_file* f, int* out) {
  return realOf(f)->pMethods->xCheckReservedLock(realOf(f), out);
}
int xFileControl(sqlite3_file* f, int op, void* arg) {
  return realOf(f)->pMethods->xFileControl(realOf(f), op, arg);
}
int xSectorSize(sqlite3_file* f) {
  return realOf(f)->pMethods->xSectorSize(realOf(f));
}
int xDeviceCharacteristics(sqlite3_file* f) {
  return realOf(f)->pMethods->xDeviceCharacteristics(realOf(f));
}
int xShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return realOf(f)->pMethods->xShmMap(realOf(f), page, size, extend, out);
}
int xShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return realOf(f)->pMethods->xShmLock(realOf(f), offset, n, flags);
}
void xShmBarrier(sqlite3_file* f) {
  realOf(f)->pMethods->xShmBarrier(realOf(f));
}
int xShmUnmap(sqlite3_file* f, int deleteFlag) {
  return realOf(f)->pMethods->xShmUnmap(realOf(f), deleteFlag);
}
int xFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return realOf(f)->pMethods->xFetch(realOf(f), off, n, out);
}
int xUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return realOf(f)->pMethods->xUnfetch(realOf(f), off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    xClose,
    xRead,
    xWrite,
    xTruncate,
    xSync,
    xFileSize,
    xLock,
    xUnlock,
    xCheckReservedLock,
    xFileControl,
    xSectorSize,
    xDeviceCharacteristics,
    xShmMap,
    xShmLock,
    xShmBarrier,
    xShmUnmap,
    xFetch,
    xUnfetch,
};

int vfsOpen(sqlite3_vfs* /*vfs*/, const char* name, sqlite3_file* file, int flags, int* outFlags) {
  auto* ours = reinterpret_cast<FaultyFile*>(file);
  ours->real = reinterpret_cast<sqlite3_file*>(ours + 1);
  ours->base.pMethods = nullptr;
  if (openHook && name != nullptr) {
    openHook(name);
  }
  const int rc = realVfs->xOpen(realVfs, name, ours->real, flags, outFlags);
  if (rc == SQLITE_OK && ours->real->pMethods != nullptr) {
    ours->base.pMethods = &kMethods;
  }
  return rc;
}
int vfsDelete(sqlite3_vfs*, const char* name, int syncDir) {
  return realVfs->xDelete(realVfs, name, syncDir);
}
int vfsAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return realVfs->xAccess(realVfs, name, flags, out);
}
int vfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return realVfs->xFullPathname(realVfs, name, n, out);
}
void* vfsDlOpen(sqlite3_vfs*, const char* name) {
  return realVfs->xDlOpen(realVfs, name);
}
void vfsDlError(sqlite3_vfs*, int n, char* out) {
  realVfs->xDlError(realVfs, n, out);
}
void (*vfsDlSym(sqlite3_vfs*, void* handle, const char* sym))(void) {
  return realVfs->xDlSym(realVfs, handle, sym);
}
void vfsDlClose(sqlite3_vfs*, void* handle) {
  realVfs->xDlClose(realVfs, handle);
}
int vfsRandomness(sqlite3_vfs*, int n, char* out) {
  return realVfs->xRandomness(realVfs, n, out);
}
int vfsSleep(sqlite3_vfs*, int us) {
  return realVfs->xSleep(realVfs, us);
}
int vfsCurrentTime(sqlite3_vfs*, double* out) {
  return realVfs->xCurrentTime(realVfs, out);
}
int vfsGetLastError(sqlite3_vfs*, int n, char* out) {
  return realVfs->xGetLastError(realVfs, n, out);
}
int vfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return realVfs->xCurrentTimeInt64(realVfs, out);
}

sqlite3_vfs faultyVfs{};

}  // namespace

void installFaultyVfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_initialize();
    realVfs = sqlite3_vfs_find(nullptr);
    faultyVfs.iVersion = 2;
    faultyVfs.szOsFile = static_cast<int>(sizeof(FaultyFile)) + realVfs->szOsFile;
    faultyVfs.mxPathname = realVfs->mxPathname;
    faultyVfs.zName = "facegate-faulty";
    faultyVfs.xOpen = vfsOpen;
    faultyVfs.xDelete = vfsDelete;
    faultyVfs.xAccess = vfsAccess;
    faultyVfs.xFullPathname = vfsFullPathname;
    faultyVfs.xDlOpen = vfsDlOpen;
    faultyVfs.xDlError = vfsDlError;
    faultyVfs.xDlSym = vfsDlSym;
    faultyVfs.xDlClose = vfsDlClose;
    faultyVfs.xRandomness = vfsRandomness;
    faultyVfs.xSleep = vfsSleep;
    faultyVfs.xCurrentTime = vfsCurrentTime;
    faultyVfs.xGetLastError = vfsGetLastError;
    faultyVfs.xCurrentTimeInt64 = vfsCurrentTimeInt64;
    sqlite3_vfs_register(&faultyVfs, /*makeDflt=*/1);
  });
}

void armStorageFault(StorageFault fault) {
  armed.store(fault);
}

std::uint64_t injectedStorageFailures() {
  return failures.load();
}

void beforeOpen(std::function<void(const std::string& name)> hook) {
  openHook = std::move(hook);
}

}  // namespace facegate::test
