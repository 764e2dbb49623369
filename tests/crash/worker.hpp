#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace facegate::crash {

// Deliberate bugs, for the harness's own tests: each breaks one guarantee the harness checks,
// so that a harness that stopped noticing would fail its self-test.
enum class Fault {
  None,
  AckRolledBack,  // acknowledges passage records whose transaction it rolled back
  SplitRevoke,    // revokes in three transactions: badge row, template row, audit record
};
std::optional<Fault> faultFromString(std::string_view name);

struct WorkerOptions {
  std::filesystem::path database;
  int ackFd = -1;            // write end of the acknowledgement pipe
  std::uint64_t seed = 0;    // the mix of operations (the harness draws one per cycle)
  std::uint64_t opBase = 0;  // passage operation ids start above this (unique per cycle)
  Fault fault = Fault::None;
};

// The worker role: opens the database the way facegated and the facegate command do, then
// writes forever — enrolments, plain badges, revocations, erasures, passage records and the
// odd explicit WAL checkpoint — acknowledging each operation on `ackFd` once it has
// committed (protocol.hpp). It only returns (non-zero, with one line on stderr) when
// something fails; the harness ends it with SIGKILL.
int runWorker(const WorkerOptions& options);

}  // namespace facegate::crash
