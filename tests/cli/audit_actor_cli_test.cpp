// Who the audit log says did it, and what the desk's commands print from the database
// (review, issue 11): the actor comes from the real uid, SUDO_USER only validated and only
// beside root; no text read back can drive the terminal.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "facegate/audit/audit_log.hpp"
#include "facegate/store/database.hpp"
#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;

std::string loginOf(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

// Every byte printable ASCII, lines apart.
std::string unsafeBytesIn(const std::string& text) {
  std::string found;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c != '\n' && (byte < 0x20 || byte >= 0x7f)) {
      found += fmt::format("\\x{:02x} ", byte);
    }
  }
  return found;
}

class AuditActor : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto keygen = test::runCommand(kCli, {"keygen", "--out-dir", dir_.path().string()});
    ASSERT_EQ(keygen.exitCode, 0) << keygen.err;
  }

  // Issues a plain badge for `pupil` with SUDO_USER set to `sudoUser` (unset if nullopt) and
  // returns the actor of the audit record it wrote.
  std::string actorOfAnIssue(const std::string& pupil, const std::optional<std::string>& sudoUser,
                             const fs::path& db, const fs::path& key) {
    const auto r = test::runCommand(
        kCli,
        {"badge", "issue", "--db", db.string(), "--pupil", pupil, "--key", key.string(),
         "--badge-out", (db.parent_path() / (pupil + ".png")).string()},
        {{"SUDO_USER", sudoUser}});
    if (r.exitCode != 0) {
      return "badge issue failed: " + r.err;
    }
    auto database = store::Database::open(db);
    if (!database) {
      return database.error().message;
    }
    audit::AuditLog log(*database);
    auto records = log.records(0, 1000);
    if (!records || records->empty()) {
      return "no audit record";
    }
    return records->back().event.actor;
  }

  fs::path db() const { return dir_ / "school.db"; }
  fs::path key() const { return dir_ / "school-signing.key"; }

  test::TempDir dir_;
};

TEST_F(AuditActor, IsTheRealUserAndNeverARawSudoUser) {
  const std::string me = "desk:" + loginOf(::getuid());
  EXPECT_EQ(actorOfAnIssue("P-0", std::nullopt, db(), key()), me);
  // Terminal escapes and a forged second line; a plausible name that is nobody's account;
  // shell and path characters; an empty value; one far too long.
  const std::vector<std::string> hostile{"\x1b]0;owned\x07\x1b[2J\nforged",
                                         "no-such-user-fg11",
                                         "root;reboot",
                                         "../root",
                                         "",
                                         std::string(64, 'a')};
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    EXPECT_EQ(actorOfAnIssue(fmt::format("P-{}", i + 1), hostile[i], db(), key()), me)
        << "SUDO_USER=" << hostile[i];
  }
}

TEST_F(AuditActor, AnExistingSudoUserIsRecordedBesideRootOnly) {
  // An account every Debian system has, other than the one running the test when possible.
  const std::string other = loginOf(test::unprivilegedUser().uid);
  const std::string actor = actorOfAnIssue("P-1", other, db(), key());
  if (::getuid() == 0) {
    EXPECT_EQ(actor, fmt::format("desk:{}(sudo:{})", loginOf(0), other));
  } else {
    EXPECT_EQ(actor, "desk:" + loginOf(::getuid())) << "anybody can set SUDO_USER";
  }
}

// As root, the same command run by an unprivileged user who sets SUDO_USER=root (directly
// otherwise): never recorded.
TEST_F(AuditActor, SudoUserIsIgnoredForAnyoneButRoot) {
  const fs::path desk = dir_ / "desk";
  fs::create_directory(desk);
  fs::copy_file(key(), desk / "school-signing.key");
  test::giveToUnprivilegedUser(desk);
  test::giveToUnprivilegedUser(desk / "school-signing.key");
  const std::string actor = test::runUnprivileged([&] {
    return actorOfAnIssue("P-1", loginOf(0), desk / "school.db", desk / "school-signing.key");
  });
  EXPECT_EQ(actor, "desk:" + loginOf(::geteuid() == 0 ? test::unprivilegedUser().uid : ::getuid()));
}

TEST_F(AuditActor, TextFromTheDatabaseIsPrintedEscaped) {
  {
    auto database = store::Database::open(db());
    ASSERT_TRUE(database) << database.error().message;
    audit::AuditLog log(*database);
    audit::AuditEvent event;
    event.at = 1'780'000'000;
    event.actor = "desk:\x1b]0;owned\x07";
    event.action = "enrol\n    99 2026-05-28 desk:forged";
    event.subject = "\x1b[2J";
    event.outcome = "GRANTED\r";
    event.detail =
        "note=\xc2\x9b"
        "31m";
    ASSERT_TRUE(log.append(event));
    // A row written by something other than facegate (sqlite3 on the file).
    ASSERT_TRUE(database->exec(
        "INSERT INTO pupils VALUES ('P' || char(27) || '[31m' || char(10) || 'X', NULL, 1, "
        "'ref-hostile', 0)"));
    ASSERT_TRUE(database->exec(
        "INSERT INTO badges VALUES (42, 'P' || char(27) || '[31m' || char(10) || 'X', 'plain', 0, "
        "4000000000, NULL)"));
  }
  const auto shown = test::runCommand(kCli, {"audit", "show", "--db", db().string()});
  ASSERT_EQ(shown.exitCode, 0) << shown.err;
  EXPECT_EQ(unsafeBytesIn(shown.out), "") << shown.out;
  EXPECT_EQ(std::count(shown.out.begin(), shown.out.end(), '\n'), 1) << "a forged line:\n"
                                                                     << shown.out;
  EXPECT_NE(shown.out.find("desk:\\x1b]0;owned\\x07"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("enrol\\x0a"), std::string::npos) << shown.out;

  const auto list = test::runCommand(kCli, {"list", "--db", db().string()});
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_EQ(unsafeBytesIn(list.out), "") << list.out;
  EXPECT_NE(list.out.find("P\\x1b[31m\\x0aX"), std::string::npos) << list.out;
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 3) << list.out;

  const auto verified = test::runCommand(kCli, {"audit", "verify", "--db", db().string()});
  EXPECT_EQ(verified.exitCode, 0) << verified.out << verified.err;
  EXPECT_EQ(unsafeBytesIn(verified.out), "") << verified.out;
}

}  // namespace
}  // namespace facegate
