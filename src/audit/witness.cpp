#include "facegate/audit/witness.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>

#include <fmt/format.h>
#include <systemd/sd-journal.h>

#include "facegate/core/logging.hpp"

namespace facegate::audit {
namespace {

// RAII over sd_journal*.
class Journal {
 public:
  Journal() = default;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal() {
    if (j_ != nullptr) {
      sd_journal_close(j_);
    }
  }
  sd_journal** out() { return &j_; }
  sd_journal* get() const { return j_; }

 private:
  sd_journal* j_ = nullptr;
};

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> fromHex(std::string_view text) {
  if (text.size() != 2 * N) {
    return std::nullopt;
  }
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    unsigned v = 0;
    for (std::size_t k = 0; k < 2; ++k) {
      const char c = text[2 * i + k];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else {
        return std::nullopt;
      }
    }
    out[i] = static_cast<std::uint8_t>(v);
  }
  return out;
}

// The value of field `name` of the current entry, or nullopt.
std::optional<std::string_view> field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  std::size_t length = 0;
  if (sd_journal_get_data(j, name, &data, &length) < 0) {
    return std::nullopt;
  }
  const std::string_view entry(static_cast<const char*>(data), length);
  const std::size_t eq = entry.find('=');
  if (eq == std::string_view::npos) {
    return std::nullopt;
  }
  return entry.substr(eq + 1);
}

// journald lets root and the groups systemd-journal, adm and wheel read the system's
// entries; anyone else sees only their own.
std::string accessProblem() {
  if (::geteuid() == 0) {
    return {};
  }
  std::vector<gid_t> groups(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
  const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  groups.resize(static_cast<std::size_t>(std::max(0, n)));
  groups.push_back(::getegid());
  for (const char* name : {"systemd-journal", "adm", "wheel"}) {
    if (const struct group* g = ::getgrnam(name);
        g != nullptr && std::find(groups.begin(), groups.end(), g->gr_gid) != groups.end()) {
      return {};
    }
  }
  return "this user is neither root nor in the group systemd-journal or adm, so the journal "
         "shows it only its own entries";
}

}  // namespace

std::string toHex(const LogId& id) {
  std::string out;
  out.reserve(2 * id.size());
  for (const auto b : id) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

void JournalWitness::attest(const WitnessedHead& head) noexcept {
  try {
    const std::string log = toHex(head.log);
    const std::string hash = toHex(head.hash);
    const int r = sd_journal_send(
        "MESSAGE=audit log %s: head record %lld, hash %s", log.c_str(),
        static_cast<long long>(head.seq), hash.c_str(), "MESSAGE_ID=%s", kHeadMessageId,
        "PRIORITY=6", "FACEGATE_AUDIT_LOG=%s", log.c_str(), "FACEGATE_AUDIT_SEQ=%lld",
        static_cast<long long>(head.seq), "FACEGATE_AUDIT_HASH=%s", hash.c_str(),
        "FACEGATE_AUDIT_DB=%s", head.database.c_str(), nullptr);
    if (r < 0 && !warned_) {
      warned_ = true;
      logger("audit")->warn(
          "the audit log's head cannot be written to the systemd journal ({}): `facegate audit "
          "verify` will not be able to check the end of the log against it",
          std::strerror(-r));
    }
  } catch (...) {
    // Best effort by contract: the decision is already recorded in the database.
  }
}

Result<JournalHeads> readJournalHeads(const LogId& log, const std::string& database,
                                      std::uint32_t writer,
                                      const std::optional<std::filesystem::path>& journalDir) {
  Journal j;
  const int opened = journalDir ? sd_journal_open_directory(j.out(), journalDir->c_str(), 0)
                                : sd_journal_open(j.out(), SD_JOURNAL_LOCAL_ONLY);
  if (opened < 0) {
    return fail(
        ErrorCode::FileUnreadable,
        fmt::format("cannot open the journal{}: {}",
                    journalDir ? " in " + journalDir->string() : "", std::strerror(-opened)));
  }
  const std::string match = fmt::format("MESSAGE_ID={}", kHeadMessageId);
  if (const int r = sd_journal_add_match(j.get(), match.data(), match.size()); r < 0) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot search the journal: {}", std::strerror(-r)));
  }
  JournalHeads out;
  if (!journalDir) {
    out.access = accessProblem();
  }
  const std::string wanted = toHex(log);
  for (int r = sd_journal_next(j.get()); r > 0; r = sd_journal_next(j.get())) {
    const auto logField = field(j.get(), "FACEGATE_AUDIT_LOG");
    const auto seqField = field(j.get(), "FACEGATE_AUDIT_SEQ");
    const auto hashField = field(j.get(), "FACEGATE_AUDIT_HASH");
    const auto dbField = field(j.get(), "FACEGATE_AUDIT_DB");
    if (!logField || !seqField || !hashField) {
      continue;
    }
    const auto id = fromHex<16>(*logField);
    const auto hash = fromHex<32>(*hashField);
    if (!id || !hash) {
      continue;
    }
    const bool ours = *logField == wanted;
    const bool samePath = dbField && *dbField == database;
    if (!ours && !samePath) {
      continue;
    }
    // _UID is journald's, from the sender's socket credentials: it cannot be forged.
    const auto uidField = field(j.get(), "_UID");
    std::optional<std::uint32_t> uid;
    if (uidField && !uidField->empty() && uidField->size() <= 10 &&
        std::all_of(uidField->begin(), uidField->end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      const std::uint64_t value = std::stoull(std::string(*uidField));
      if (value <= std::numeric_limits<std::uint32_t>::max()) {
        uid = static_cast<std::uint32_t>(value);
      }
    }
    if (uid != writer) {
      ++out.foreign;
      if (!out.foreignUid && uid) {
        out.foreignUid = uid;
      }
      continue;
    }
    WitnessedHead h;
    h.log = *id;
    h.hash = *hash;
    h.database = dbField ? std::string(*dbField) : std::string();
    std::int64_t seq = 0;
    for (const char c : *seqField) {
      if (c < '0' || c > '9' || seq > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        seq = -1;
        break;
      }
      seq = seq * 10 + (c - '0');
    }
    if (seq <= 0) {
      continue;
    }
    h.seq = seq;
    std::uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(j.get(), &usec) >= 0) {
      h.seenAt = static_cast<std::int64_t>(usec / 1'000'000);
    }
    (ours ? out.heads : out.others).push_back(std::move(h));
  }
  return out;
}

}  // namespace facegate::audit
