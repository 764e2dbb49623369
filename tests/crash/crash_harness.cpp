// crash_harness: kill -9 crash-safety test of the registry and audit log in one SQLite file.
//
//   crash_harness [--cycles N] [--seed S] [--db PATH] [--keep] [--max-delay-ms MS]
//   crash_harness worker --db PATH --ack-fd FD --seed S --op-base N   (started by the harness)
//
// See harness.hpp for what each cycle checks and protocol.hpp for what the worker reports.
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "facegate/core/process.hpp"
#include "harness.hpp"
#include "worker.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    "usage: crash_harness [--cycles N] [--seed S] [--db PATH] [--keep] [--max-delay-ms MS]\n"
    "                     [--inject-fault F]\n"
    "  --cycles N         worker runs, each ended by SIGKILL (default 200)\n"
    "  --seed S           seed of the kill times and of the workers' operations (default 1)\n"
    "  --db PATH          database to create (default: in a new 0700 temporary directory)\n"
    "  --keep             keep the database after a successful run\n"
    "  --max-delay-ms MS  longest a worker runs before its kill (default 100)\n"
    "  --inject-fault F   self-test: the workers have bug F (ack-rolled-back, split-revoke)\n"
    "                     and the harness must report it\n";

// A whole decimal number (seeds use all 64 bits).
std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

int usageError(std::string_view message) {
  fmt::print(stderr, "crash_harness: {}\n{}", message, kUsage);
  return 2;
}

int workerMain(const std::vector<std::string_view>& args) {
  facegate::crash::WorkerOptions options;
  std::optional<std::uint64_t> fd;
  std::optional<std::uint64_t> seed;
  std::optional<std::uint64_t> opBase;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == "--db") {
      options.database = std::string(args[i + 1]);
    } else if (args[i] == "--ack-fd") {
      fd = number(args[i + 1]);
    } else if (args[i] == "--seed") {
      seed = number(args[i + 1]);
    } else if (args[i] == "--op-base") {
      opBase = number(args[i + 1]);
    } else if (args[i] == "--fault") {
      const auto fault = facegate::crash::faultFromString(args[i + 1]);
      if (!fault) {
        return usageError("worker: unknown --fault");
      }
      options.fault = *fault;
    }
  }
  if (args.size() % 2 != 0 || options.database.empty() || !fd || *fd > 1024 || !seed || !opBase) {
    return usageError("worker: --db, --ack-fd, --seed and --op-base are all required");
  }
  options.ackFd = static_cast<int>(*fd);
  options.seed = *seed;
  options.opBase = *opBase;
  return facegate::crash::runWorker(options);
}

int harnessMain(const std::vector<std::string_view>& args) {
  facegate::crash::HarnessOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help") {
      fmt::print("{}", kUsage);
      return 0;
    }
    if (arg == "--keep") {
      options.keep = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      return usageError(fmt::format("{} needs a value", arg));
    }
    const std::string_view value = args[++i];
    const auto n = number(value);
    if (arg == "--cycles" && n && *n >= 1 && *n <= 1'000'000) {
      options.cycles = static_cast<int>(*n);
    } else if (arg == "--seed" && n) {
      options.seed = *n;
    } else if (arg == "--max-delay-ms" && n && *n >= 1 && *n <= 10'000) {
      options.maxKillDelayMs = static_cast<int>(*n);
    } else if (arg == "--inject-fault" && facegate::crash::faultFromString(value)) {
      options.fault = std::string(value);
    } else if (arg == "--db" && !value.empty()) {
      options.database = fs::path(value);
    } else {
      return usageError(fmt::format("bad option or value: {} {}", arg, value));
    }
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    fmt::print(stderr, "crash_harness: cannot find its own executable: {}\n", ec.message());
    return 2;
  }
  return facegate::crash::runHarness(options, self);
}

}  // namespace

int main(int argc, char** argv) {
  if (!facegate::hardenProcess()) {
    fmt::print(stderr, "crash_harness: warning: could not disable core dumps\n");
  }
  umask(077);  // as the facegate command: the database and its WAL are for their owner only
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "worker") {
    return workerMain(std::vector<std::string_view>(args.begin() + 1, args.end()));
  }
  return harnessMain(args);
}
