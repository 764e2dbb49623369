#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace facegate::crash {

struct HarnessOptions {
  int cycles = 200;
  std::uint64_t seed = 1;
  // The database to create; by default crash.db in a fresh 0700 directory under the
  // system temp dir. Must not exist yet: the harness's model starts from an empty registry.
  std::optional<std::filesystem::path> database;
  bool keep = false;           // keep the database (it is always kept after a failure)
  int maxKillDelayMs = 100;    // a worker is killed 1 ms to this long after it is ready
  std::string fault = "none";  // worker fault (worker.hpp) for the harness's self-tests
};

// The harness role. Each cycle starts a worker (fork + exec of `self`), lets it write for a
// random time, kills it with SIGKILL, then opens the database the way the facegate command
// does and checks it: PRAGMA integrity_check is "ok", no foreign key dangles, the audit chain
// verifies, every acknowledged operation is there (its audit records in order and intact,
// its registry rows in place, its sealed template opening with the acknowledged secret to
// the exact template), and the one operation the kill interrupted is either wholly there or
// wholly absent. The same database carries over to the next cycle. Prints a one-line summary
// and returns 0, or names the first violation (cycle, seed) on stderr and returns 1.
int runHarness(const HarnessOptions& options, const std::filesystem::path& self);

}  // namespace facegate::crash
