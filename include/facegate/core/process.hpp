#pragma once

namespace facegate {

// Makes this process unsuitable for leaking biometric data through the kernel: no core
// dumps (RLIMIT_CORE = 0) and not dumpable (PR_SET_DUMPABLE = 0, which also keeps other
// unprivileged processes of the same user from ptrace-attaching or reading /proc/pid/mem).
// Call first thing in every main(). Returns false if the kernel refused, which the caller
// logs; it does not throw.
bool hardenProcess() noexcept;

}  // namespace facegate
