#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/enrolment/sealing.hpp"
#include "facegate/store/database.hpp"
#include "protocol.hpp"

namespace facegate::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

// A broken guarantee. The first one ends the run, from whatever depth it is found at.
struct Violation : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void violation(const std::string& message) {
  throw Violation(message);
}

template <typename T>
T must(Result<T> result, std::string_view what) {
  if (!result) {
    violation(fmt::format("{}: {}", what, result.error().message));
  }
  return std::move(*result);
}

[[noreturn]] void systemFailure(std::string_view what) {
  throw std::system_error(errno, std::generic_category(), std::string(what));
}

// --- What the worker said -----------------------------------------------------------------

enum class OpKind { Enrol, Plain, Revoke, Erase, Passage, Checkpoint };

std::string_view toString(OpKind kind) {
  switch (kind) {
    case OpKind::Enrol: return "enrol";
    case OpKind::Plain: return "plain";
    case OpKind::Revoke: return "revoke";
    case OpKind::Erase: return "erase";
    case OpKind::Passage: return "passage";
    case OpKind::Checkpoint: return "checkpoint";
  }
  return "?";
}

std::optional<OpKind> opKindFrom(std::string_view text) {
  for (const OpKind kind : {OpKind::Enrol, OpKind::Plain, OpKind::Revoke, OpKind::Erase,
                            OpKind::Passage, OpKind::Checkpoint}) {
    if (toString(kind) == text) {
      return kind;
    }
  }
  return std::nullopt;
}

struct Operation {
  OpKind kind = OpKind::Passage;
  int pupil = -1;                            // registry operations
  std::uint64_t serial = 0;                  // badge issued, revoked or shown (0: not known)
  std::uint64_t ref = 0;                     // its audit pseudonym (acknowledged registry ops)
  std::uint64_t opId = 0;                    // passages
  std::optional<badge::BadgeSecret> secret;  // acknowledged sealed enrolments
  std::int64_t head = 0;                     // the audit head once committed (passage: its seq)
  bool acknowledged = false;
};

std::string describe(const Operation& op) {
  switch (op.kind) {
    case OpKind::Passage: return fmt::format("passage {} (badge {})", op.opId, hex64(op.serial));
    case OpKind::Checkpoint: return "checkpoint";
    case OpKind::Revoke:
      return fmt::format("revoke of {}'s badge {}", pupilId(op.pupil), hex64(op.serial));
    default: return fmt::format("{} of {}", toString(op.kind), pupilId(op.pupil));
  }
}

// Everything a worker sent before it was killed: whether it got ready, the operations it
// acknowledged, and at most one operation it began but never acknowledged (the one the kill
// interrupted — or that committed just before the kill, ahead of its acknowledgement).
struct WorkerLog {
  bool ready = false;
  std::int64_t readyHead = 0;
  std::vector<Operation> ops;

  const Operation* interrupted() const {
    return !ops.empty() && !ops.back().acknowledged ? &ops.back() : nullptr;
  }
};

std::optional<badge::BadgeSecret> parseSecret(std::string_view hex) {
  badge::BadgeSecret secret;
  if (hex.size() != 2 * secret->size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < secret->size(); ++i) {
    const char* first = hex.data() + 2 * i;
    const auto [end, ec] = std::from_chars(first, first + 2, (*secret)[i], 16);
    if (ec != std::errc() || end != first + 2) {
      return std::nullopt;
    }
  }
  return secret;
}

void parseLine(std::string_view line, WorkerLog& log) {
  const auto t = tokens(line);
  // Never quote a whole line in a message: an enrolment's line carries its badge secret.
  const auto bad = [&](std::string_view why) {
    violation(
        fmt::format("the worker sent a malformed \"{}\" line ({})", t.empty() ? "" : t[0], why));
  };
  if (t.empty()) {
    bad("empty");
  }
  if (t[0] == "ready") {
    if (log.ready || !log.ops.empty() || t.size() != 2) {
      bad("not the first line, or not one number");
    }
    const auto head = parseInt(t[1]);
    if (!head) {
      bad("head is not a number");
    }
    log.ready = true;
    log.readyHead = *head;
    return;
  }
  if (t[0] == "begin") {
    if (!log.ready || log.interrupted() != nullptr || t.size() < 3) {
      bad("before ready, or before the previous operation was acknowledged");
    }
    Operation op;
    const auto kind = opKindFrom(t[1]);
    if (!kind) {
      bad("unknown operation");
    }
    op.kind = *kind;
    if (op.kind == OpKind::Passage) {
      const auto id = parseInt(t[2]);
      const auto serial = t.size() == 4 ? parseHex64(t[3]) : std::nullopt;
      if (!id || !serial) {
        bad("passage id or serial");
      }
      op.opId = static_cast<std::uint64_t>(*id);
      op.serial = *serial;
    } else if (op.kind != OpKind::Checkpoint) {
      const auto pupil = pupilIndex(t[2]);
      if (!pupil) {
        bad("pupil");
      }
      op.pupil = *pupil;
      if (op.kind == OpKind::Revoke) {
        const auto serial = t.size() == 4 ? parseHex64(t[3]) : std::nullopt;
        if (!serial) {
          bad("serial");
        }
        op.serial = *serial;
      }
    }
    log.ops.push_back(std::move(op));
    return;
  }
  // An acknowledgement: of the operation that began last, with its results.
  if (log.ops.empty() || log.ops.back().acknowledged) {
    bad("acknowledges an operation that did not begin");
  }
  Operation& op = log.ops.back();
  if (toString(op.kind) != (t[0] == "audit" ? "passage" : t[0])) {
    bad(fmt::format("acknowledges a different operation than {}", describe(op)));
  }
  const auto number = [&](std::string_view text) {
    const auto n = parseInt(text);
    if (!n) {
      bad("not a number");
    }
    return *n;
  };
  const auto samePupil = [&](std::string_view text) {
    if (pupilIndex(text) != op.pupil) {
      bad("names another pupil");
    }
  };
  const auto serialOf = [&](std::string_view text) {
    const auto serial = parseHex64(text);
    if (!serial) {
      bad("serial");
    }
    return *serial;
  };
  switch (op.kind) {
    case OpKind::Enrol: {
      if (t.size() != 6) {
        bad("field count");
      }
      samePupil(t[1]);
      op.serial = serialOf(t[2]);
      op.ref = serialOf(t[3]);
      op.secret = parseSecret(t[4]);
      if (!op.secret) {
        bad("secret");
      }
      op.head = number(t[5]);
      break;
    }
    case OpKind::Plain:
      if (t.size() != 5) {
        bad("field count");
      }
      samePupil(t[1]);
      op.serial = serialOf(t[2]);
      op.ref = serialOf(t[3]);
      op.head = number(t[4]);
      break;
    case OpKind::Revoke:
      if (t.size() != 5 || serialOf(t[2]) != op.serial) {
        bad("field count or serial");
      }
      samePupil(t[1]);
      op.ref = serialOf(t[3]);
      op.head = number(t[4]);
      break;
    case OpKind::Erase:
      if (t.size() != 3) {
        bad("field count");
      }
      samePupil(t[1]);
      op.head = number(t[2]);
      break;
    case OpKind::Passage:
      if (t.size() != 4 || number(t[2]) != static_cast<std::int64_t>(op.opId) ||
          serialOf(t[3]) != op.serial) {
        bad("field count, id or serial");
      }
      op.head = number(t[1]);
      break;
    case OpKind::Checkpoint:
      if (t.size() != 5) {
        bad("field count");
      }
      break;
  }
  op.acknowledged = true;
}

WorkerLog parseWorkerLog(std::string_view output) {
  // Every line is one write(2) far below PIPE_BUF, so a kill cannot cut one in half.
  if (!output.empty() && output.back() != '\n') {
    violation("the worker's last acknowledgement line arrived incomplete");
  }
  WorkerLog log;
  while (!output.empty()) {
    const auto end = output.find('\n');
    parseLine(output.substr(0, end), log);
    output.remove_prefix(end + 1);
  }
  return log;
}

// --- Running a worker ---------------------------------------------------------------------

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads what is available; false at end of file.
bool readSome(int fd, std::string& into) {
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      into.append(buffer.data(), static_cast<std::size_t>(n));
      secureWipe(buffer.data(), static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      return false;
    }
    if (errno != EINTR) {
      systemFailure("reading the worker's acknowledgements");
    }
  }
}

struct KillPlan {
  bool duringStartup = false;  // from the fork, so that it can land in open/recovery/migration
  microseconds delay{0};       // after the fork (start-up) or after "ready"
};

// Starts a worker, kills it as planned and returns everything it acknowledged. A worker
// that ends on its own (it found an error) or is not ready within a minute is a violation.
std::string runWorkerUntilKilled(const fs::path& self, const std::vector<std::string>& args,
                                 const KillPlan& plan) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    systemFailure("pipe2");
  }
  Fd reader(fds[0]);
  std::vector<std::string> argv{self.string(), "worker", "--ack-fd", "3"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  raw.reserve(argv.size() + 1);
  for (auto& a : argv) {
    raw.push_back(a.data());
  }
  raw.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[1]);
    errno = error;
    systemFailure("fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec. The write end becomes fd 3,
    // without FD_CLOEXEC; every other descriptor of ours closes on exec.
    if (fds[1] == 3 ? ::fcntl(3, F_SETFD, 0) != 0 : ::dup2(fds[1], 3) != 3) {
      ::_exit(127);
    }
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  ::close(fds[1]);

  const auto started = Clock::now();
  const auto readyLimit = started + std::chrono::seconds(60);
  auto killAt = plan.duringStartup ? started + plan.delay : Clock::time_point::max();
  std::string output;
  bool ready = false;
  bool ended = false;
  while (!ended) {
    const auto now = Clock::now();
    if (now >= killAt) {
      break;
    }
    if (now >= readyLimit && !ready && !plan.duringStartup) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      violation("the worker did not open the database within 60 s");
    }
    const auto wait = (ready || plan.duringStartup ? killAt : readyLimit) - now;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    const timespec timeout{static_cast<time_t>(ns / 1'000'000'000), ns % 1'000'000'000};
    pollfd p{reader.get(), POLLIN, 0};
    const int n = ::ppoll(&p, 1, &timeout, nullptr);
    if (n < 0 && errno != EINTR) {
      systemFailure("ppoll");
    }
    if (n > 0) {
      ended = !readSome(reader.get(), output);
      if (!ready && !plan.duringStartup && output.find('\n') != std::string::npos) {
        ready = output.starts_with("ready ");
        // Not "ready": a protocol error, which parseWorkerLog reports once it is stopped.
        killAt = ready ? Clock::now() + plan.delay : Clock::now();
      }
    }
  }
  if (!ended) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      systemFailure("waitpid");
    }
  }
  while (readSome(reader.get(), output)) {
  }
  if (ended || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    violation(
        fmt::format("the worker ended on its own ({}) before it was killed; its "
                    "message, if any, is above",
                    WIFEXITED(status)     ? fmt::format("exit status {}", WEXITSTATUS(status))
                    : WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                          : std::string("unknown status")));
  }
  return output;
}

// --- What the database must hold ----------------------------------------------------------

// A pool pupil as the acknowledged operations (and the resolved interrupted ones) left them.
struct PupilModel {
  enum class State { Absent, Plain, Enrolled };
  State state = State::Absent;
  std::string auditRef;                              // learned from the first record naming them
  std::uint64_t active = 0;                          // the one valid badge, 0 after a revocation
  std::map<std::uint64_t, badge::BadgeKind> badges;  // every badge since (re)creation: kind
  std::map<std::uint64_t, std::uint64_t> refs;       // serial -> the badge's audit pseudonym
  std::optional<badge::BadgeSecret> secret;          // the active sealed badge's, if acknowledged
};

// An audit record an operation must have written. Empty subject: the pupil's new pseudonym.
// The badge is named by its pseudonym (audit/badge_ref.hpp); newSerial: a badge not seen
// before (ref, if known, is the one the worker acknowledged).
struct ExpectedRecord {
  std::string action;
  std::string subject;
  std::optional<std::uint64_t> ref;
  bool newSerial = false;
};

std::string describeRecords(std::span<const ExpectedRecord> records) {
  std::string out;
  for (const auto& r : records) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", r.action,
                       r.newSerial ? "<new badge>"
                       : r.ref     ? hex64(*r.ref)
                                   : "-");
  }
  return out;
}

std::string describeRecords(std::span<const audit::AuditRecord> records) {
  std::string out;
  for (const auto& r : records) {
    out += fmt::format("{}#{} {} {}", out.empty() ? "" : ", ", r.seq, r.event.action,
                       r.event.badgeRef ? hex64(*r.event.badgeRef) : "-");
  }
  return out;
}

struct Stats {
  int cycles = 0;
  int startupKills = 0;      // before the worker said ready: exec, open, recovery, migration
  int writeKills = 0;        // between an operation's begin and its acknowledgement
  int committedUnacked = 0;  // ... of which the operation had committed
  int checkpointKills = 0;   // inside an explicit PRAGMA wal_checkpoint
  int idleKills = 0;         // between an acknowledgement and the next begin
  std::int64_t ackedOps = 0;
  std::int64_t recordsMatched = 0;
  std::int64_t templatesOpened = 0;
};

class Harness {
 public:
  Harness(const HarnessOptions& options, fs::path self, fs::path database)
      : options_(options),
        self_(std::move(self)),
        database_(std::move(database)),
        rng_(options.seed) {}

  void runCycle(int cycle);
  void finish();
  const Stats& stats() const { return stats_; }

 private:
  void check(int cycle, WorkerLog& log);
  void matchOperations(store::Database& db, WorkerLog& log,
                       const std::vector<audit::AuditRecord>& fresh);
  void apply(store::Database& db, Operation& op, std::span<const audit::AuditRecord> records);
  void checkRegistry(store::Database& db);

  HarnessOptions options_;
  fs::path self_;
  fs::path database_;
  std::mt19937_64 rng_;
  std::array<PupilModel, kPupilPoolSize> model_{};
  bool everReady_ = false;          // some worker has opened (created) the database
  std::int64_t verifiedHead_ = 0;   // every record up to here was matched to an operation
  audit::Hash verifiedHeadHash_{};  // ... and this is its hash (the chain pins the rest)
  Stats stats_;
};

void Harness::runCycle(int cycle) {
  KillPlan plan;
  // Mostly kills while operations run; one in twelve from the fork, landing in exec, in
  // the open (SQLite's recovery of the WAL the previous kill left), or in the first
  // cycles' schema migration.
  plan.duringStartup = std::uniform_int_distribution<int>(0, 11)(rng_) == 0;
  plan.delay = plan.duringStartup
                   ? microseconds(std::uniform_int_distribution<int>(0, 20'000)(rng_))
                   : microseconds(std::uniform_int_distribution<int>(
                         1'000, options_.maxKillDelayMs * 1'000)(rng_));
  const std::uint64_t workerSeed = rng_();
  const std::vector<std::string> args{
      "--db", database_.string(), "--seed", std::to_string(workerSeed), "--op-base",
      // Passage ids unique across cycles: the harness rebuilds each record from its id.
      std::to_string(static_cast<std::uint64_t>(cycle + 1) << 32U), "--fault", options_.fault};
  std::string output = runWorkerUntilKilled(self_, args, plan);
  WorkerLog log = parseWorkerLog(output);
  secureWipe(output.data(), output.size());  // it held the acknowledged badge secrets
  check(cycle, log);
  ++stats_.cycles;
}

void Harness::check(int cycle, WorkerLog& log) {
  // The way `facegate audit verify` opens it (no create), alternately read-write — which
  // runs SQLite's recovery here and checkpoints and removes the WAL on close — and
  // read-only, which leaves the killed worker's WAL for the next worker's open to recover.
  store::Database::Options options;
  options.create = false;
  options.readOnly = !everReady_ || cycle % 2 == 1;
  auto opened = store::Database::open(database_, options);
  if (!opened) {
    const ErrorCode code = opened.error().code;
    if (!everReady_ && !log.ready &&
        (code == ErrorCode::NotFound || code == ErrorCode::SchemaMismatch)) {
      ++stats_.startupKills;  // killed before it had created the database and its schema
      return;
    }
    violation("the database does not open after the kill: " + opened.error().message);
  }
  everReady_ = everReady_ || log.ready;
  store::Database& db = *opened;

  {
    auto q = must(db.prepare("PRAGMA integrity_check"), "PRAGMA integrity_check");
    std::vector<std::string> rows;
    while (must(q.step(), "PRAGMA integrity_check")) {
      rows.push_back(q.text(0));
    }
    if (rows != std::vector<std::string>{"ok"}) {
      violation(fmt::format("PRAGMA integrity_check says: {}", fmt::join(rows, "; ")));
    }
  }
  {
    auto q = must(db.prepare("PRAGMA foreign_key_check"), "PRAGMA foreign_key_check");
    if (must(q.step(), "PRAGMA foreign_key_check")) {
      violation(fmt::format("a row of {} points at a missing parent", q.text(0)));
    }
  }

  audit::AuditLog auditLog(db);
  const audit::ChainReport report = must(auditLog.verify(), "verifying the audit chain");
  if (!report.intact) {
    violation("the audit chain is broken: " + report.problem);
  }
  if (report.headSeq < verifiedHead_) {
    violation(
        fmt::format("the audit log's head went back from record {} to {}: "
                    "acknowledged records were lost",
                    verifiedHead_, report.headSeq));
  }
  if (verifiedHead_ > 0) {
    // The chain links every record to the one before, so the last record checked in the
    // previous cycle keeping its hash means none of the earlier ones changed either.
    const auto last = must(auditLog.records(verifiedHead_ - 1, 1), "reading the audit log");
    if (last.empty() || last.front().seq != verifiedHead_ ||
        last.front().hash != verifiedHeadHash_) {
      violation(
          fmt::format("audit record {}, checked after the previous kill, changed", verifiedHead_));
    }
  }
  if (log.ready && log.readyHead != verifiedHead_) {
    violation(
        fmt::format("the worker found the audit head at record {}, but the check "
                    "before it left it at {}",
                    log.readyHead, verifiedHead_));
  }
  const auto fresh = must(auditLog.records(verifiedHead_, std::numeric_limits<std::int64_t>::max()),
                          "reading the audit log");
  matchOperations(db, log, fresh);
  checkRegistry(db);
  verifiedHead_ = report.headSeq;
  verifiedHeadHash_ = report.headHash;

  if (!log.ready) {
    ++stats_.startupKills;
  } else if (const Operation* op = log.interrupted(); op == nullptr) {
    ++stats_.idleKills;
  } else if (op->kind == OpKind::Checkpoint) {
    ++stats_.checkpointKills;
  } else {
    ++stats_.writeKills;
  }
}

void Harness::matchOperations(store::Database& db, WorkerLog& log,
                              const std::vector<audit::AuditRecord>& fresh) {
  std::size_t next = 0;
  std::int64_t cursor = verifiedHead_;
  const std::span<const audit::AuditRecord> all(fresh);
  for (Operation& op : log.ops) {
    if (op.kind == OpKind::Checkpoint) {
      continue;  // writes no record
    }
    if (!op.acknowledged) {
      // The operation the kill interrupted: all of its records, or none.
      if (next < fresh.size()) {
        apply(db, op, all.subspan(next));
        next = fresh.size();
        ++stats_.committedUnacked;
      }
      break;
    }
    if (op.head <= cursor) {
      violation(fmt::format("the acknowledged {} ends at audit record {}, not after {}",
                            describe(op), op.head, cursor));
    }
    std::size_t end = next;
    while (end < fresh.size() && fresh[end].seq <= op.head) {
      ++end;
    }
    if (end == next || fresh[end - 1].seq != op.head) {
      violation(
          fmt::format("the acknowledged {} is lost: its audit records end at {} but "
                      "the log ends at {}",
                      describe(op), op.head, fresh.empty() ? cursor : fresh.back().seq));
    }
    apply(db, op, all.subspan(next, end - next));
    stats_.recordsMatched += static_cast<std::int64_t>(end - next);
    ++stats_.ackedOps;
    next = end;
    cursor = op.head;
  }
  if (next != fresh.size()) {
    violation(
        fmt::format("audit records {} to {} were written by no operation the worker "
                    "began ({})",
                    fresh[next].seq, fresh.back().seq, describeRecords(all.subspan(next))));
  }
}

void Harness::apply(store::Database& db, Operation& op,
                    std::span<const audit::AuditRecord> records) {
  if (op.kind == OpKind::Passage) {
    // Every field of the record must be what the worker asked for: the stored hash is
    // recomputed over the event rebuilt from the operation id.
    const audit::AuditEvent expected = passageEvent(op.opId, op.serial);
    if (records.size() != 1 ||
        audit::AuditLog::computeHash(records[0].seq, expected, records[0].prevHash) !=
            records[0].hash) {
      violation(fmt::format("the {} {} is not in the audit log as written: found [{}]",
                            op.acknowledged ? "acknowledged" : "interrupted (committed)",
                            describe(op), describeRecords(records)));
    }
    return;
  }
  PupilModel& pupil = model_[static_cast<std::size_t>(op.pupil)];
  using State = PupilModel::State;
  std::vector<ExpectedRecord> expected;
  const auto refOf = [&](std::uint64_t serial) -> std::optional<std::uint64_t> {
    const auto found = pupil.refs.find(serial);
    return found == pupil.refs.end() ? std::nullopt : std::optional(found->second);
  };
  const auto revokeActive = [&] {
    if (pupil.active != 0) {  // one valid badge per pupil: a new one revokes it first
      expected.push_back({"revoke", pupil.auditRef, refOf(pupil.active)});
    }
  };
  // Interrupted: the badge is learned from the registry (the operation was the last one).
  const bool learnsSerial = !op.acknowledged;
  switch (op.kind) {
    case OpKind::Enrol:
      revokeActive();
      expected.push_back({pupil.state == State::Enrolled ? "re-enrol" : "enrol", pupil.auditRef,
                          learnsSerial ? std::nullopt : std::optional(op.ref), true});
      break;
    case OpKind::Plain:
      if (pupil.state == State::Enrolled) {
        violation(
            fmt::format("the worker issued a plain badge to volunteer {}", pupilId(op.pupil)));
      }
      revokeActive();
      expected.push_back({"badge-issue", pupil.auditRef,
                          learnsSerial ? std::nullopt : std::optional(op.ref), true});
      break;
    case OpKind::Revoke:
      if (op.serial != pupil.active || pupil.active == 0) {
        violation(fmt::format("the worker revoked badge {} of {}, which is not their valid one",
                              hex64(op.serial), pupilId(op.pupil)));
      }
      if (op.acknowledged && refOf(op.serial) != op.ref) {
        violation(fmt::format("the worker's pseudonym for {}'s badge {} changed", pupilId(op.pupil),
                              hex64(op.serial)));
      }
      expected.push_back({"revoke", pupil.auditRef, refOf(op.serial)});
      break;
    case OpKind::Erase:
      if (pupil.state == State::Absent) {
        violation(fmt::format("the worker erased {}, who is not registered", pupilId(op.pupil)));
      }
      expected.push_back({"erase", pupil.auditRef, std::nullopt});
      break;
    default: violation("unreachable");
  }

  bool matches = records.size() == expected.size();
  for (std::size_t i = 0; matches && i < records.size(); ++i) {
    const audit::AuditEvent& got = records[i].event;
    const ExpectedRecord& want = expected[i];
    const bool subjectOk =
        want.subject.empty() ? got.subject && !got.subject->empty() : got.subject == want.subject;
    const bool serialOk =
        want.newSerial
            ? got.badgeRef && *got.badgeRef != 0 && (!want.ref || *got.badgeRef == *want.ref) &&
                  std::ranges::none_of(pupil.refs,
                                       [&](const auto& r) { return r.second == *got.badgeRef; })
            : got.badgeRef == want.ref;
    matches = got.action == want.action && got.actor == kDeskActor && subjectOk && serialOk;
  }
  if (!matches) {
    violation(
        fmt::format("the {} {} is not in the audit log as written: expected [{}], "
                    "found [{}]",
                    op.acknowledged ? "acknowledged" : "interrupted (committed)", describe(op),
                    describeRecords(expected), describeRecords(records)));
  }

  const audit::AuditEvent& last = records.back().event;
  switch (op.kind) {
    case OpKind::Enrol:
    case OpKind::Plain: {
      pupil.auditRef = *last.subject;
      pupil.state = op.kind == OpKind::Enrol ? State::Enrolled : State::Plain;
      std::uint64_t serial = op.serial;
      if (learnsSerial) {
        // The kill came after the commit, before the acknowledgement: the new badge is the
        // pupil's valid one in the registry, and its pseudonym must be the record's.
        auto q = must(db.prepare("SELECT serial FROM badges WHERE pupil_id = ?1 AND revoked_at "
                                 "IS NULL"),
                      "reading badges");
        const std::string id = pupilId(op.pupil);
        q.bind(1, std::string_view(id));
        if (!must(q.step(), "reading badges")) {
          violation(fmt::format("the interrupted {} left no valid badge", describe(op)));
        }
        serial = std::bit_cast<std::uint64_t>(q.integer(0));
        q.reset();
        enrolment::Registry registry(db, "crash-harness");
        if (must(registry.badgeRef(serial), "naming a badge") != last.badgeRef) {
          violation(fmt::format("the interrupted {}'s record does not name its badge {}",
                                describe(op), hex64(serial)));
        }
      }
      pupil.active = serial;
      pupil.refs[serial] = *last.badgeRef;
      pupil.badges[pupil.active] =
          op.kind == OpKind::Enrol ? badge::BadgeKind::Sealed : badge::BadgeKind::Plain;
      pupil.secret = std::move(op.secret);  // none if the enrolment was not acknowledged
      break;
    }
    case OpKind::Revoke:
      pupil.active = 0;
      pupil.secret.reset();
      break;
    default: pupil = PupilModel{}; break;
  }
}

void Harness::checkRegistry(store::Database& db) {
  std::map<std::string, std::string> pseudonyms;
  {
    auto q = must(db.prepare("SELECT pupil_id, audit_ref FROM pupils"), "reading pupils");
    while (must(q.step(), "reading pupils")) {
      pseudonyms[q.text(0)] = q.text(1);
    }
  }
  enrolment::Registry registry(db, "crash-harness");
  const auto listed = must(registry.list(), "listing the registry");
  std::array<bool, kPupilPoolSize> seen{};
  std::int64_t badges = 0;
  std::int64_t templates = 0;
  std::int64_t enrolled = 0;
  for (const auto& p : listed) {
    const auto index = pupilIndex(p.pupilId);
    if (!index) {
      violation(fmt::format("the registry holds an unknown pupil {}", p.pupilId));
    }
    const PupilModel& m = model_[static_cast<std::size_t>(*index)];
    seen[static_cast<std::size_t>(*index)] = true;
    if (m.state == PupilModel::State::Absent) {
      violation(
          fmt::format("{} is in the registry, but was erased or never registered", p.pupilId));
    }
    if (pseudonyms[p.pupilId] != m.auditRef) {
      violation(fmt::format("{}'s audit pseudonym changed", p.pupilId));
    }
    if (p.enrolled != (m.state == PupilModel::State::Enrolled)) {
      violation(fmt::format("{} is {}a volunteer in the registry, expected the opposite", p.pupilId,
                            p.enrolled ? "" : "not "));
    }
    if (p.enrolled && p.storageMode != badge::BadgeKind::Sealed) {
      violation(fmt::format("{}'s storage mode is {}, expected sealed", p.pupilId,
                            p.storageMode ? badge::toString(*p.storageMode) : "missing"));
    }
    enrolled += p.enrolled ? 1 : 0;
    if (p.badges.size() != m.badges.size()) {
      violation(fmt::format("{} has {} badges in the registry, expected {}", p.pupilId,
                            p.badges.size(), m.badges.size()));
    }
    for (const auto& b : p.badges) {
      ++badges;
      const auto kind = m.badges.find(b.serial);
      if (kind == m.badges.end() || kind->second != b.kind) {
        violation(fmt::format("{}'s badge {} ({}) is not one that was issued to them", p.pupilId,
                              hex64(b.serial), badge::toString(b.kind)));
      }
      if (b.revokedAt.has_value() == (b.serial == m.active)) {
        violation(fmt::format("{}'s badge {} is {}, expected {}", p.pupilId, hex64(b.serial),
                              b.revokedAt ? "revoked" : "valid",
                              b.revokedAt ? "valid" : "revoked"));
      }
      const auto sealed = must(registry.findSealedTemplate(b.serial), "reading a template");
      const bool wanted = b.serial == m.active && b.kind == badge::BadgeKind::Sealed;
      if (sealed.has_value() != wanted) {
        violation(fmt::format("{}'s badge {} {} a sealed template", p.pupilId, hex64(b.serial),
                              wanted ? "lost its" : "still has"));
      }
      if (!sealed) {
        continue;
      }
      ++templates;
      if (!m.secret) {
        continue;  // issued by an enrolment the kill interrupted: nobody saw its secret
      }
      auto opened = enrolment::unsealTemplate(*sealed, *m.secret, b.serial);
      if (!opened) {
        violation(
            fmt::format("{}'s acknowledged template (badge {}) does not open with its "
                        "badge's secret: {}",
                        p.pupilId, hex64(b.serial), opened.error().message));
      }
      if (!sameTemplate(*opened, syntheticTemplate(*index))) {
        violation(fmt::format("{}'s template (badge {}) opens to different values", p.pupilId,
                              hex64(b.serial)));
      }
      ++stats_.templatesOpened;
    }
  }
  for (int i = 0; i < kPupilPoolSize; ++i) {
    if (!seen[static_cast<std::size_t>(i)] &&
        model_[static_cast<std::size_t>(i)].state != PupilModel::State::Absent) {
      violation(fmt::format("{} is missing from the registry", pupilId(i)));
    }
  }
  // Rows no pupil accounts for (an erasure or revocation half applied) would not show above.
  auto q = must(db.prepare("SELECT (SELECT count(*) FROM badges), (SELECT count(*) FROM "
                           "sealed_templates), (SELECT count(*) FROM enrolments)"),
                "counting rows");
  must(q.step(), "counting rows");
  if (q.integer(0) != badges || q.integer(1) != templates || q.integer(2) != enrolled) {
    violation(
        fmt::format("the registry holds {} badges, {} sealed templates and {} "
                    "enrolments; its pupils account for {}, {} and {}",
                    q.integer(0), q.integer(1), q.integer(2), badges, templates, enrolled));
  }
}

void Harness::finish() {
  if (!everReady_) {
    violation("no worker ever opened the database");
  }
  // The chain the last worker left, recovered, must take one more record and verify.
  store::Database::Options options;
  options.create = false;
  auto db = must(store::Database::open(database_, options), "opening the database");
  audit::AuditLog auditLog(db);
  audit::AuditEvent event;
  event.at = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  event.actor = "crash-harness";
  event.action = "crash-check";
  event.detail = fmt::format("cycles={} seed={}", stats_.cycles, options_.seed);
  const std::int64_t seq = must(auditLog.append(event), "appending to the recovered chain");
  const auto report = must(auditLog.verify(), "verifying the audit chain");
  if (!report.intact || seq != verifiedHead_ + 1 || report.headSeq != seq) {
    violation(fmt::format("after one more record (seq {}) the chain {}", seq,
                          report.intact ? "has the wrong head" : "is broken: " + report.problem));
  }
}

}  // namespace

int runHarness(const HarnessOptions& options, const fs::path& self) {
  const auto started = Clock::now();
  fs::path dir;
  fs::path database;
  if (options.database) {
    database = *options.database;
    if (fs::exists(database) || fs::exists(database.string() + "-wal")) {
      fmt::print(stderr, "crash_harness: {} already exists; give a path to a new database\n",
                 database.string());
      return 2;
    }
    if (!fs::is_directory(database.parent_path().empty() ? "." : database.parent_path())) {
      fmt::print(stderr, "crash_harness: the directory of {} does not exist\n", database.string());
      return 2;
    }
  } else {
    std::string pattern = (fs::temp_directory_path() / "facegate-crash-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {  // mode 0700
      fmt::print(stderr, "crash_harness: cannot create a temporary directory: {}\n",
                 std::strerror(errno));
      return 2;
    }
    dir = pattern;
    database = dir / "crash.db";
  }

  Harness harness(options, self, database);
  int cycle = 0;
  try {
    for (; cycle < options.cycles; ++cycle) {
      harness.runCycle(cycle);
    }
    harness.finish();
  } catch (const Violation& v) {
    fmt::print(stderr, "crash_harness: FAILED in cycle {} of {} (--seed {}): {}\n", cycle + 1,
               options.cycles, options.seed, v.what());
    // Kept for a post-mortem, unless the failure was the point (a self-test's injected fault).
    if (options.keep || options.fault == "none" || dir.empty()) {
      fmt::print(stderr, "crash_harness: the database is kept in {}\n", database.string());
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr,
               "crash_harness: cannot run (cycle {}, --seed {}): {}; the database is in {}\n",
               cycle + 1, options.seed, e.what(), database.string());
    return 2;
  }

  const Stats& s = harness.stats();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  fmt::print(
      "crash-safety: {} cycles (--seed {}): {} kills during a write ({} had committed before "
      "the kill, {} rolled back), {} during a checkpoint, {} during start-up, {} between "
      "operations; {} acknowledged operations checked ({} audit records), {} sealed templates "
      "reopened; lost 0; {:.1f} s\n",
      s.cycles, options.seed, s.writeKills, s.committedUnacked, s.writeKills - s.committedUnacked,
      s.checkpointKills, s.startupKills, s.idleKills, s.ackedOps, s.recordsMatched,
      s.templatesOpened, elapsed);
  if (!dir.empty() && !options.keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    fmt::print("crash-safety: database kept in {}\n", database.string());
  }
  return 0;
}

}  // namespace facegate::crash
