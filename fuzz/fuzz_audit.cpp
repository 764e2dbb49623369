// libFuzzer target: the audit chain verifier (AuditLog::verify) on a database whose rows an
// attacker edited.
//
// Each input builds a fresh in-memory database with facegate's real schema (all
// migrations), appends a few genuine records with AuditLog, then runs the input as a script
// of operations, and finally verifies the chain. The script is a sequence of ops, each an
// opcode byte (taken modulo kOpCount) and its operands (see Op below); a missing operand
// reads as 0. Tampering ops write straight to the tables with SQL: any column of any row
// (seq, hashes and links included), the anchor and head in audit_state, inserted and
// deleted rows, NULLs, text, blobs of any length (with CHECK constraints switched off, as
// an attacker editing the file can), extreme integers and doubles. Legitimate ops go
// through AuditLog (append with fuzzed event fields, purge).
//
// Oracles (a violation traps, which libFuzzer reports as a crash):
// 1. verify() says intact  =>  every row left in audit_events is one AuditLog wrote, with
//    exactly the content it wrote (seq, every field, prev_hash, hash: type and bytes).
//    Rows removed at the end with the head moved along are not detectable by the chain
//    alone (the journal witness catches that: audit/witness.hpp); their absence is not
//    checked. (Rows removed at the start need a purge record that accounts for the anchor.)
// 2. No tampering op changed the tables  =>  verify() succeeds and says intact.
// 3. Nothing crashes, overflows or reads out of bounds (ASan, UBSan).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/audit/audit_log.hpp"
#include "facegate/store/database.hpp"

namespace {

using facegate::audit::AuditEvent;
using facegate::audit::AuditLog;
using facegate::store::Database;
using facegate::store::Statement;

class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v = (v << 8) | u8();
    }
    return v;
  }
  std::vector<std::uint8_t> bytes(std::size_t n) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < n && pos_ < size_; ++i) {
      out.push_back(data_[pos_++]);
    }
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

constexpr const char* kEventColumns[] = {"seq",     "at",        "actor",   "action",
                                         "subject", "badge_ref", "outcome", "distance",
                                         "detail",  "prev_hash", "hash"};
constexpr std::size_t kEventColumnCount = std::size(kEventColumns);
constexpr const char* kStateColumns[] = {"id", "anchor_seq", "anchor_hash", "head_seq",
                                         "head_hash"};

// One SQL value, as the script chose it.
struct Value {
  enum class Kind { Null, Integer, Real, Text, Blob } kind = Kind::Null;
  std::int64_t integer = 0;
  double real = 0.0;
  std::vector<std::uint8_t> bytes;
};

constexpr std::int64_t kInterestingIntegers[] = {0,
                                                 1,
                                                 2,
                                                 3,
                                                 4,
                                                 5,
                                                 -1,
                                                 std::numeric_limits<std::int64_t>::max(),
                                                 std::numeric_limits<std::int64_t>::max() - 1,
                                                 std::numeric_limits<std::int64_t>::min(),
                                                 std::numeric_limits<std::int64_t>::min() + 1,
                                                 std::int64_t{1} << 53,
                                                 4294967295};

Value readValue(Script& s) {
  Value v;
  switch (s.u8() % 7) {
    case 0: break;
    case 1:
      v.kind = Value::Kind::Integer;
      v.integer = static_cast<std::int64_t>(s.u64());
      break;
    case 2:
      v.kind = Value::Kind::Integer;
      v.integer = kInterestingIntegers[s.u8() % std::size(kInterestingIntegers)];
      break;
    case 3: {
      v.kind = Value::Kind::Real;
      const std::uint64_t bits = s.u64();
      std::memcpy(&v.real, &bits, sizeof bits);
      break;
    }
    case 4:
      v.kind = Value::Kind::Text;
      v.bytes = s.bytes(s.u8() % 48);
      break;
    case 5:
      v.kind = Value::Kind::Blob;
      v.bytes = s.bytes(s.u8() % 48);
      break;
    case 6:  // a hash-sized blob
      v.kind = Value::Kind::Blob;
      v.bytes = s.bytes(32);
      v.bytes.resize(32);
      break;
  }
  return v;
}

void bindValue(Statement& st, int index, const Value& v) {
  switch (v.kind) {
    case Value::Kind::Null: st.bind(index, std::nullopt); break;
    case Value::Kind::Integer: st.bind(index, v.integer); break;
    case Value::Kind::Real: st.bind(index, v.real); break;
    case Value::Kind::Text:
      st.bind(index,
              std::string_view(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()));
      break;
    case Value::Kind::Blob: st.bind(index, std::span<const std::uint8_t>(v.bytes)); break;
  }
}

std::int64_t readSeq(Script& s) {
  const std::uint8_t b = s.u8();
  if (b < 0xf0) {
    return b % 12;  // around the genuine records (1..4, more after appends)
  }
  return kInterestingIntegers[b % std::size(kInterestingIntegers)];
}

// A table's rows, exactly: per column its SQLite type and its value's bytes.
using Row = std::vector<std::string>;

std::string exact(const Statement& q, int typeColumn) {
  const std::string type = q.text(typeColumn);
  const int col = typeColumn + 1;
  std::string out = type + ":";
  if (type == "integer") {
    const std::int64_t v = q.integer(col);
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  } else if (type == "real") {
    const double v = q.real(col);
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  } else if (type == "text") {
    out += q.text(col);
  } else if (type == "blob") {
    const auto b = q.blob(col);
    out.append(b.begin(), b.end());
  }
  return out;
}

Database& database();

// The statements are prepared once (preparing costs more than running them) and live as
// long as the database, which is created first and so destroyed last.
std::map<std::int64_t, Row> snapshot(Database& db, const char* table,
                                     std::span<const char* const> columns) {
  static std::map<std::string, Statement> prepared;
  auto cached = prepared.find(table);
  if (cached == prepared.end()) {
    std::string sql = "SELECT rowid";
    for (const char* c : columns) {
      sql += std::string(", typeof(") + c + "), " + c;
    }
    sql += std::string(" FROM ") + table;
    auto q = db.prepare(sql);
    if (!q) {
      __builtin_trap();  // the schema is ours: this cannot fail
    }
    cached = prepared.emplace(table, std::move(*q)).first;
  }
  Statement* q = &cached->second;
  std::map<std::int64_t, Row> rows;
  for (;;) {
    auto more = q->step();
    if (!more) {
      __builtin_trap();
    }
    if (!*more) {
      q->reset();
      return rows;
    }
    Row row;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      row.push_back(exact(*q, static_cast<int>(1 + 2 * i)));
    }
    rows.emplace(q->integer(0), std::move(row));
  }
}

struct Tables {
  std::map<std::int64_t, Row> events;  // by rowid (= seq: seq is the INTEGER PRIMARY KEY)
  std::map<std::int64_t, Row> state;
  bool operator==(const Tables&) const = default;
};

Tables snapshot(Database& db) {
  return Tables{snapshot(db, "audit_events", kEventColumns),
                snapshot(db, "audit_state", kStateColumns)};
}

AuditEvent readEvent(Script& s) {
  AuditEvent e;
  e.at = static_cast<std::int64_t>(s.u64());
  const auto text = [&](std::size_t max) {
    const auto b = s.bytes(s.u8() % max);
    return std::string(b.begin(), b.end());
  };
  e.actor = text(24);
  e.action = text(24);
  const std::uint8_t present = s.u8();
  if ((present & 1U) != 0) {
    e.subject = text(40);
  }
  if ((present & 2U) != 0) {
    e.badgeRef = s.u64();
  }
  if ((present & 4U) != 0) {
    e.outcome = text(24);
  }
  if ((present & 8U) != 0) {
    const std::uint64_t bits = s.u64();
    double d = 0;
    std::memcpy(&d, &bits, sizeof bits);
    e.distance = d;
  }
  e.detail = text(64);
  return e;
}

// The genuine history every input starts from: one record of each shape.
std::vector<AuditEvent> genuineEvents() {
  std::vector<AuditEvent> events(4);
  events[0] = {.at = 1'790'000'000,
               .actor = "desk:admin",
               .action = "enrol",
               .subject = "c0ffee01",
               .badgeRef = 0x8000'0000'0000'0001ULL,
               .detail = "mode=sealed"};
  events[1] = {.at = 1'790'000'100,
               .actor = "gate-1",
               .action = "passage",
               .badgeRef = 42,
               .outcome = "GRANTED",
               .distance = 0.377,
               .detail = ""};
  events[2] = {.at = 1'790'000'200,
               .actor = "gate-1",
               .action = "passage",
               .badgeRef = 42,
               .outcome = "MISMATCH",
               .distance = 0.805,
               .detail = "frames=3"};
  events[3] = {.at = 1'790'000'300,
               .actor = "desk:admin",
               .action = "erase",
               .subject = "c0ffee01",
               .detail = ""};
  return events;
}

enum Op : std::uint8_t {
  kSetEventColumn,    // seq, column, value
  kSetStateColumn,    // column, value
  kDeleteEvent,       // seq
  kInsertEvent,       // 11 values
  kCopyEventColumn,   // from seq, to seq, column
  kCopyIntoState,     // seq, which (anchor/head hash from hash/prev_hash)
  kCheckConstraints,  // on/off
  kAppend,            // an event (AuditLog::append)
  kPurge,             // retention days (AuditLog::purge)
  kOpCount
};

constexpr std::size_t kMaxOps = 24;

// One in-memory database for the whole run, schema applied once (opening and migrating
// costs far more than an input); every input starts from emptied audit tables, in the
// state migration 2 leaves them. The scripts cannot change the schema.
Database& database() {
  static Database db = [] {
    auto opened = Database::open(":memory:");
    if (!opened) {
      __builtin_trap();
    }
    return std::move(*opened);
  }();
  if (!db.exec("PRAGMA ignore_check_constraints = OFF; DELETE FROM audit_events; "
               "DELETE FROM audit_state; "
               "INSERT INTO audit_state VALUES (1, 0, zeroblob(32), 0, zeroblob(32))")) {
    __builtin_trap();
  }
  return db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Database* db = &database();
  AuditLog log(*db);
  // seq -> the exact row AuditLog wrote. AuditLog only ever adds rows (purge also
  // deletes some): the rows that a legitimate op added or changed are its writes.
  std::map<std::int64_t, Row> written;
  const auto recordWrites = [&](const std::map<std::int64_t, Row>& before,
                                const std::map<std::int64_t, Row>& after) {
    for (const auto& [seq, row] : after) {
      const auto old = before.find(seq);
      if (old == before.end() || old->second != row) {
        written[seq] = row;
      }
    }
  };
  for (const AuditEvent& e : genuineEvents()) {
    if (!log.append(e)) {
      __builtin_trap();
    }
  }
  recordWrites({}, snapshot(*db, "audit_events", kEventColumns));

  Script s(data, size);
  bool tampered = false;
  Tables current = snapshot(*db);
  for (std::size_t n = 0; n < kMaxOps && !s.done(); ++n) {
    const auto op = static_cast<Op>(s.u8() % kOpCount);
    const Tables before = std::move(current);
    const auto runSql = [&](const std::string& sql, auto&& bindAll) {
      auto st = db->prepare(sql);
      if (!st) {
        __builtin_trap();  // every statement below is valid SQL for our schema
      }
      bindAll(*st);
      (void)st->run();  // constraint violations are expected; the tables stay unchanged
    };
    switch (op) {
      case kSetEventColumn: {
        const std::int64_t seq = readSeq(s);
        const char* column = kEventColumns[s.u8() % kEventColumnCount];
        const Value v = readValue(s);
        runSql(std::string("UPDATE audit_events SET ") + column + " = ?1 WHERE seq = ?2",
               [&](Statement& st) {
                 bindValue(st, 1, v);
                 st.bind(2, seq);
               });
        break;
      }
      case kSetStateColumn: {
        const char* column = kStateColumns[s.u8() % std::size(kStateColumns)];
        const Value v = readValue(s);
        runSql(std::string("UPDATE audit_state SET ") + column + " = ?1",
               [&](Statement& st) { bindValue(st, 1, v); });
        break;
      }
      case kDeleteEvent: {
        const std::int64_t seq = readSeq(s);
        runSql("DELETE FROM audit_events WHERE seq = ?1", [&](Statement& st) { st.bind(1, seq); });
        break;
      }
      case kInsertEvent: {
        std::vector<Value> values;
        for (std::size_t i = 0; i < kEventColumnCount; ++i) {
          values.push_back(readValue(s));
        }
        runSql(
            "INSERT INTO audit_events (seq, at, actor, action, subject, badge_ref, "
            "outcome, distance, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
            "?7, ?8, ?9, ?10, ?11)",
            [&](Statement& st) {
              for (std::size_t i = 0; i < values.size(); ++i) {
                bindValue(st, static_cast<int>(i + 1), values[i]);
              }
            });
        break;
      }
      case kCopyEventColumn: {
        const std::int64_t from = readSeq(s);
        const std::int64_t to = readSeq(s);
        const std::string column = kEventColumns[1 + s.u8() % (kEventColumnCount - 1)];
        runSql("UPDATE audit_events SET " + column + " = (SELECT " + column +
                   " FROM audit_events WHERE seq = ?1) WHERE seq = ?2",
               [&](Statement& st) {
                 st.bind(1, from);
                 st.bind(2, to);
               });
        break;
      }
      case kCopyIntoState: {
        const std::int64_t seq = readSeq(s);
        const std::uint8_t which = s.u8();
        const std::string target = (which & 1U) != 0 ? "head" : "anchor";
        const std::string source = (which & 2U) != 0 ? "prev_hash" : "hash";
        runSql("UPDATE audit_state SET " + target + "_seq = ?1, " + target + "_hash = (SELECT " +
                   source + " FROM audit_events WHERE seq = ?1)",
               [&](Statement& st) { st.bind(1, seq); });
        break;
      }
      case kCheckConstraints:
        if (!db->exec((s.u8() & 1U) != 0 ? "PRAGMA ignore_check_constraints = ON"
                                         : "PRAGMA ignore_check_constraints = OFF")) {
          __builtin_trap();
        }
        break;
      case kAppend: (void)log.append(readEvent(s)); break;
      case kPurge:
        (void)log.purge(static_cast<int>(s.u64() % 40'000), 1'800'000'000, "fuzz");
        break;
      case kOpCount: break;
    }
    current = snapshot(*db);
    if (op == kAppend || op == kPurge) {
      recordWrites(before.events, current.events);
    } else if (!(current == before)) {
      tampered = true;
    }
  }

  auto report = log.verify();
  if (!tampered && (!report || !report->intact)) {
    __builtin_trap();  // oracle 2: an untouched chain must verify
  }
  if (report && report->intact) {
    for (const auto& [seq, row] : snapshot(*db, "audit_events", kEventColumns)) {
      const auto genuine = written.find(seq);
      if (genuine == written.end() || genuine->second != row) {
        __builtin_trap();  // oracle 1: a changed or forged record passed verification
      }
    }
  }
  (void)log.records(0, 64);
  return 0;
}
