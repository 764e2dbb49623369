#include "facegate/core/process.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

namespace facegate {

bool hardenProcess() noexcept {
  rlimit none{};
  const bool noCore = setrlimit(RLIMIT_CORE, &none) == 0;
  const bool notDumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  return noCore && notDumpable;
}

}  // namespace facegate
