#include "worker.hpp"

#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "facegate/audit/audit_log.hpp"
#include "facegate/core/secure_memory.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/store/database.hpp"
#include "protocol.hpp"

namespace facegate::crash {
namespace {

// What the worker knows of a pool pupil: enough to only ask for operations the registry
// accepts (an unexpected refusal is a failure, not something to retry).
struct PupilView {
  enum class State { Absent, Plain, Enrolled };
  State state = State::Absent;
  std::uint64_t activeBadge = 0;  // the pupil's one valid badge; 0 once it is revoked
};

class Worker {
 public:
  Worker(store::Database& db, int ackFd, std::uint64_t seed, std::uint64_t opBase, Fault fault)
      : db_(db),
        registry_(db, std::string(kDeskActor)),
        gateLog_(db),
        ackFd_(ackFd),
        rng_(seed),
        opBase_(opBase),
        fault_(fault) {}

  // Learns the registry's state (what earlier workers left, crashes included) and says ready.
  Result<void> start();
  // One operation, acknowledged once committed.
  Result<void> step();

 private:
  Result<void> enrol(int index);
  Result<void> issuePlain(int index);
  Result<void> revoke(int index);
  Result<void> erase(int index);
  Result<void> passage();
  Result<void> checkpoint();
  Result<std::int64_t> appendRolledBack(const audit::AuditEvent& event);  // Fault::AckRolledBack
  Result<void> revokeSplit(std::uint64_t serial, std::int64_t now);       // Fault::SplitRevoke

  // The audit log's head once the last operation committed, for the acknowledgement.
  Result<std::int64_t> headSeq();
  // One line, one write(2): delivered whole or not at all (well under PIPE_BUF).
  Result<void> send(std::string line);
  int percent() { return std::uniform_int_distribution<int>(0, 99)(rng_); }
  std::int64_t wallNow() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  store::Database& db_;
  enrolment::Registry registry_;
  audit::AuditLog gateLog_;  // a second log over the same connection, as the gate has
  int ackFd_;
  std::mt19937_64 rng_;
  std::uint64_t opBase_;
  Fault fault_;
  std::uint64_t ops_ = 0;
  std::array<PupilView, kPupilPoolSize> pupils_{};
};

Result<std::int64_t> Worker::headSeq() {
  // The log's own head pointer (what AuditLog::append chains the next record to); reading
  // it directly avoids walking the whole chain after every operation.
  auto q = db_.prepare("SELECT head_seq FROM audit_state WHERE id = 1");
  if (!q) {
    return tl::unexpected(q.error());
  }
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row) {
    return fail(ErrorCode::StorageCorrupt, "the audit log's state row is missing");
  }
  return q->integer(0);
}

Result<void> Worker::send(std::string line) {
  line += '\n';
  const ssize_t written = ::write(ackFd_, line.data(), line.size());
  const int error = errno;
  secureWipe(line.data(), line.size());  // an enrolment's line holds the badge secret
  if (written != static_cast<ssize_t>(line.size())) {
    return fail(ErrorCode::Internal,
                fmt::format("acknowledgement not written: {}",
                            written < 0 ? std::strerror(error) : "short write"));
  }
  return {};
}

Result<void> Worker::start() {
  auto listed = registry_.list();
  if (!listed) {
    return tl::unexpected(listed.error());
  }
  for (const auto& pupil : *listed) {
    const auto index = pupilIndex(pupil.pupilId);
    if (!index) {
      return fail(ErrorCode::Internal,
                  fmt::format("pupil {} is not one of the worker's", pupil.pupilId));
    }
    PupilView& view = pupils_[static_cast<std::size_t>(*index)];
    view.state = pupil.enrolled ? PupilView::State::Enrolled : PupilView::State::Plain;
    for (const auto& b : pupil.badges) {
      if (b.revokedAt) {
        continue;
      }
      if (view.activeBadge != 0) {
        return fail(ErrorCode::Internal,
                    fmt::format("pupil {} has two valid badges", pupil.pupilId));
      }
      view.activeBadge = b.serial;
    }
  }
  auto head = headSeq();
  if (!head) {
    return tl::unexpected(head.error());
  }
  return send(fmt::format("ready {}", *head));
}

Result<void> Worker::step() {
  const int roll = percent();
  if (roll < 8) {
    return checkpoint();
  }
  if (roll < 55) {
    return passage();  // the gate writes far more often than the enrolment desk
  }
  const int index = std::uniform_int_distribution<int>(0, kPupilPoolSize - 1)(rng_);
  const PupilView& view = pupils_[static_cast<std::size_t>(index)];
  const int choice = percent();
  switch (view.state) {
    case PupilView::State::Absent: return choice < 75 ? enrol(index) : issuePlain(index);
    case PupilView::State::Plain:
      if (choice < 40) {
        return enrol(index);  // a pupil with a plain badge volunteers
      }
      if (choice < 60) {
        return issuePlain(index);  // lost plain badge: a new one revokes the old
      }
      return choice < 75 && view.activeBadge != 0 ? revoke(index) : erase(index);
    case PupilView::State::Enrolled:
      if (choice < 35) {
        return enrol(index);  // re-enrolment (--replace)
      }
      return choice < 65 && view.activeBadge != 0 ? revoke(index) : erase(index);
  }
  return fail(ErrorCode::Internal, "unreachable pupil state");
}

Result<void> Worker::enrol(int index) {
  PupilView& view = pupils_[static_cast<std::size_t>(index)];
  const std::string id = pupilId(index);
  if (auto r = send("begin enrol " + id); !r) {
    return r;
  }
  enrolment::EnrolmentRequest request;
  request.pupilId = id;
  request.minor = true;
  request.consentRef = fmt::format("FORM-CRASH-{}", opBase_ + ops_);
  request.guardianConsentRef = fmt::format("GUARDIAN-CRASH-{}", opBase_ + ops_);
  request.mode = badge::BadgeKind::Sealed;
  request.replace = view.state == PupilView::State::Enrolled;
  request.now = wallNow();
  const face::Embedding templ = syntheticTemplate(index);
  auto issued = registry_.enrol(request, templ, nullptr);
  if (!issued) {
    return tl::unexpected(issued.error());
  }
  auto head = headSeq();
  if (!head) {
    return tl::unexpected(head.error());
  }
  std::string secret;
  for (const auto byte : **issued->secret) {
    secret += fmt::format("{:02x}", byte);
  }
  auto ref = registry_.badgeRef(issued->serial);
  if (!ref || !*ref) {
    secureWipe(secret.data(), secret.size());
    return fail(ErrorCode::Internal, "the new badge has no audit pseudonym");
  }
  auto sent = send(
      fmt::format("enrol {} {} {} {} {}", id, hex64(issued->serial), hex64(**ref), secret, *head));
  secureWipe(secret.data(), secret.size());
  view.state = PupilView::State::Enrolled;
  view.activeBadge = issued->serial;
  return sent;
}

Result<void> Worker::issuePlain(int index) {
  PupilView& view = pupils_[static_cast<std::size_t>(index)];
  const std::string id = pupilId(index);
  if (auto r = send("begin plain " + id); !r) {
    return r;
  }
  auto issued = registry_.issuePlainBadge(id, true, wallNow(), 365);
  if (!issued) {
    return tl::unexpected(issued.error());
  }
  auto head = headSeq();
  if (!head) {
    return tl::unexpected(head.error());
  }
  auto ref = registry_.badgeRef(issued->serial);
  if (!ref || !*ref) {
    return fail(ErrorCode::Internal, "the new badge has no audit pseudonym");
  }
  view.state = PupilView::State::Plain;
  view.activeBadge = issued->serial;
  return send(fmt::format("plain {} {} {} {}", id, hex64(issued->serial), hex64(**ref), *head));
}

Result<void> Worker::revoke(int index) {
  PupilView& view = pupils_[static_cast<std::size_t>(index)];
  const std::string id = pupilId(index);
  const std::uint64_t serial = view.activeBadge;
  if (auto r = send(fmt::format("begin revoke {} {}", id, hex64(serial))); !r) {
    return r;
  }
  if (auto r = fault_ == Fault::SplitRevoke ? revokeSplit(serial, wallNow())
                                            : registry_.revokeBadge(serial, wallNow());
      !r) {
    return r;
  }
  auto head = headSeq();
  if (!head) {
    return tl::unexpected(head.error());
  }
  auto ref = registry_.badgeRef(serial);  // the revoked badge stays registered
  if (!ref || !*ref) {
    return fail(ErrorCode::Internal, "the revoked badge has no audit pseudonym");
  }
  view.activeBadge = 0;
  return send(fmt::format("revoke {} {} {} {}", id, hex64(serial), hex64(**ref), *head));
}

Result<void> Worker::erase(int index) {
  PupilView& view = pupils_[static_cast<std::size_t>(index)];
  const std::string id = pupilId(index);
  if (auto r = send("begin erase " + id); !r) {
    return r;
  }
  // Commits, then checkpoints the WAL with TRUNCATE (so the erased rows' old pages leave
  // the WAL): kills land inside that checkpoint too.
  if (auto r = registry_.erasePupil(id, wallNow()); !r) {
    return r;
  }
  auto head = headSeq();
  if (!head) {
    return tl::unexpected(head.error());
  }
  view = PupilView{};
  return send(fmt::format("erase {} {}", id, *head));
}

Result<void> Worker::passage() {
  std::vector<std::uint64_t> valid;
  for (const auto& view : pupils_) {
    if (view.activeBadge != 0) {
      valid.push_back(view.activeBadge);
    }
  }
  // Mostly registered badges, sometimes one the gate does not know.
  std::uint64_t serial = rng_() | 1U;
  if (!valid.empty() && percent() < 85) {
    serial = valid[std::uniform_int_distribution<std::size_t>(0, valid.size() - 1)(rng_)];
  }
  const std::uint64_t opId = opBase_ + ++ops_;
  if (auto r = send(fmt::format("begin passage {} {}", opId, hex64(serial))); !r) {
    return r;
  }
  auto seq = fault_ == Fault::AckRolledBack ? appendRolledBack(passageEvent(opId, serial))
                                            : gateLog_.append(passageEvent(opId, serial));
  if (!seq) {
    return tl::unexpected(seq.error());
  }
  return send(fmt::format("audit {} {} {}", *seq, opId, hex64(serial)));
}

Result<void> Worker::checkpoint() {
  static constexpr std::string_view kModes[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE"};
  const std::string_view mode = kModes[rng_() % std::size(kModes)];
  if (auto r = send(fmt::format("begin checkpoint {}", mode)); !r) {
    return r;
  }
  auto q = db_.prepare(fmt::format("PRAGMA wal_checkpoint({})", mode));
  if (!q) {
    return tl::unexpected(q.error());
  }
  auto row = q->step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row) {
    return fail(ErrorCode::Internal, "PRAGMA wal_checkpoint returned no row");
  }
  return send(
      fmt::format("checkpoint {} {} {} {}", mode, q->integer(0), q->integer(1), q->integer(2)));
}

Result<std::int64_t> Worker::appendRolledBack(const audit::AuditEvent& event) {
  std::int64_t seq = 0;
  const auto rolledBack = db_.transaction([&]() -> Result<void> {
    auto appended = gateLog_.append(event);  // joins this transaction
    if (!appended) {
      return tl::unexpected(appended.error());
    }
    seq = *appended;
    return fail(ErrorCode::Internal, "injected rollback");
  });
  if (rolledBack || rolledBack.error().message != "injected rollback") {
    return fail(ErrorCode::Internal, "the injected rollback did not happen");
  }
  return seq;  // the bug: a record that was never committed is acknowledged
}

Result<void> Worker::revokeSplit(std::uint64_t serial, std::int64_t now) {
  // The bug: the badge row, its template and its audit record change in separate
  // transactions, so a kill in between leaves a revocation without its audit record.
  const auto dbSerial = std::bit_cast<std::int64_t>(serial);
  auto revoke = db_.prepare("UPDATE badges SET revoked_at = ?2 WHERE serial = ?1");
  auto drop = db_.prepare("DELETE FROM sealed_templates WHERE badge_serial = ?1");
  auto ref = db_.prepare(
      "SELECT p.audit_ref FROM badges b JOIN pupils p USING (pupil_id) WHERE b.serial = ?1");
  if (!revoke || !drop || !ref) {
    return fail(ErrorCode::Internal, "preparing the split revocation failed");
  }
  ref->bind(1, dbSerial);
  if (auto row = ref->step(); !row || !*row) {
    return fail(ErrorCode::NotFound, "the badge to revoke is not registered");
  }
  const std::string subject = ref->text(0);
  // Reset, or its open read would hold the autocommit writes below in one transaction.
  ref->reset();
  auto badgeRef = registry_.badgeRef(serial);
  if (!badgeRef || !*badgeRef) {
    return fail(ErrorCode::NotFound, "the badge to revoke has no audit pseudonym");
  }
  revoke->bind(1, dbSerial).bind(2, now);
  drop->bind(1, dbSerial);
  if (auto r = revoke->run(); !r) {
    return r;
  }
  if (auto r = drop->run(); !r) {
    return r;
  }
  audit::AuditEvent event{
      now, std::string(kDeskActor), "revoke", subject, **badgeRef, std::nullopt, std::nullopt, ""};
  if (auto r = gateLog_.append(event); !r) {
    return tl::unexpected(r.error());
  }
  return {};
}

}  // namespace

std::optional<Fault> faultFromString(std::string_view name) {
  if (name == "none") {
    return Fault::None;
  }
  if (name == "ack-rolled-back") {
    return Fault::AckRolledBack;
  }
  if (name == "split-revoke") {
    return Fault::SplitRevoke;
  }
  return std::nullopt;
}

int runWorker(const WorkerOptions& options) {
  // The same call facegated and the facegate command make: create if missing, migrate,
  // WAL + synchronous=FULL, quick check — and SQLite's recovery of a WAL left by a kill.
  auto db = store::Database::open(options.database);
  if (!db) {
    fmt::print(stderr, "crash worker: {}\n", db.error().message);
    return 1;
  }
  Worker worker(*db, options.ackFd, options.seed, options.opBase, options.fault);
  auto ok = worker.start();
  while (ok) {
    ok = worker.step();
  }
  fmt::print(stderr, "crash worker: {}\n", ok.error().message);
  return 1;
}

}  // namespace facegate::crash
