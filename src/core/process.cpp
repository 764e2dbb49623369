#include "facegate/core/process.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

namespace facegate {

bool hardenProcess() noexcept {
  rlimit none{};
  const bool noCore = setrlimit(RLIMIT_CORE, &none) == 0;
#ifdef __SANITIZE_ADDRESS__
  // LeakSanitizer ptrace-attaches to the process at exit, which a non-dumpable process
  // forbids: sanitizer builds (tests only, never shipped) keep it dumpable.
  const bool notDumpable = true;
#else
  const bool notDumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
#endif
  return noCore && notDumpable;
}

}  // namespace facegate
