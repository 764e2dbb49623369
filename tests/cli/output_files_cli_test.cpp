// The files the enrolment desk writes, through the real `facegate` binary (review, issue 11):
// never through a symbolic link, never into a file that was already there, and never a
// badge without its enrolment nor an enrolment without its badge.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "facegate/audit/audit_log.hpp"
#include "facegate/badge/keys.hpp"
#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/store/database.hpp"
#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

const fs::path kCli = FACEGATE_CLI;

bool contains(const std::string& text, std::string_view fragment) {
  return text.find(fragment) != std::string::npos;
}

std::string face(const std::string& relative) {
  return (test::dataDir() / "faces" / relative).string();
}

struct stat lstatOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

// What can already be at an output path, and how to check it was left alone.
struct Obstacle {
  std::string name;
  std::function<void(const fs::path& at, const fs::path& dir)> make;
  std::function<void(const fs::path& at, const fs::path& dir)> expectUntouched;
};

std::vector<Obstacle> obstacles() {
  return {
      {"dangling symbolic link",
       [](const fs::path& at, const fs::path& dir) { fs::create_symlink(dir / "target", at); },
       [](const fs::path& at, const fs::path& dir) {
         EXPECT_FALSE(fs::exists(dir / "target")) << "written through the link";
         EXPECT_TRUE(S_ISLNK(lstatOf(at).st_mode));
       }},
      {"symbolic link to a configuration file",
       [](const fs::path& at, const fs::path& dir) {
         test::writeFile(dir / "facegate.toml", "[gate]\n");
         ::chmod((dir / "facegate.toml").c_str(), 0644);
         fs::create_symlink(dir / "facegate.toml", at);
       },
       [](const fs::path&, const fs::path& dir) {
         EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n");
         EXPECT_EQ(lstatOf(dir / "facegate.toml").st_mode & 07777, 0644U);
       }},
      {"file anybody may write",
       [](const fs::path& at, const fs::path&) {
         test::writeFile(at, "planted");
         ::chmod(at.c_str(), 0666);
       },
       [](const fs::path& at, const fs::path&) {
         EXPECT_EQ(test::readFile(at), "planted") << "the badge went into somebody's file";
         EXPECT_EQ(lstatOf(at).st_mode & 07777, 0666U);
       }},
      {"directory", [](const fs::path& at, const fs::path&) { fs::create_directory(at); },
       [](const fs::path& at, const fs::path&) { EXPECT_TRUE(fs::is_directory(at)); }},
  };
}

class DeskFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(dir_ / "keys");
    const auto keygen = run({"keygen", "--out-dir", (dir_ / "keys").string()});
    ASSERT_EQ(keygen.exitCode, 0) << keygen.err;
  }

  test::CommandResult run(const std::vector<std::string>& args,
                          const std::optional<std::string>& input = std::nullopt) {
    return test::runCommand(kCli, args, {}, input);
  }

  std::vector<std::string> enroll(const std::string& pupil, const fs::path& badgeOut) {
    return {
        "enroll",      "--db",           db(),    "--pupil", pupil,     "--consent",
        "F-" + pupil,  "--adult",        "--key", key(),     "--photo", face("penny/penny_1.png"),
        "--badge-out", badgeOut.string()};
  }

  std::vector<std::string> issue(const std::string& pupil, const fs::path& badgeOut) {
    return {"badge", "issue", "--db", db(),          "--pupil",
            pupil,   "--key", key(),  "--badge-out", badgeOut.string()};
  }

  std::string db() const { return (dir_ / "school.db").string(); }
  std::string key() const { return (dir_ / "keys" / "school-signing.key").string(); }

  // What the database records: pupils, badges and audit records, as counts.
  std::string recorded() {
    if (!fs::exists(db())) {
      return "no database";
    }
    auto database = store::Database::open(db());
    EXPECT_TRUE(database) << database.error().message;
    std::string out;
    for (const char* table : {"pupils", "badges", "enrolments", "audit_events"}) {
      auto q = database->prepare(fmt::format("SELECT count(*) FROM {}", table));
      EXPECT_TRUE(q && q->step().value_or(false));
      out += fmt::format("{}={} ", table, q->integer(0));
    }
    auto q = database->prepare("SELECT count(*) FROM badges WHERE revoked_at IS NOT NULL");
    EXPECT_TRUE(q && q->step().value_or(false));
    out += fmt::format("revoked={}", q->integer(0));
    return out;
  }

  test::TempDir dir_;
};

TEST_F(DeskFiles, BadgeIssueWritesIntoNothingThatIsAlreadyThere) {
  for (const auto& obstacle : obstacles()) {
    SCOPED_TRACE(obstacle.name);
    test::TempDir out;
    const auto at = out / "raj.png";
    obstacle.make(at, out.path());
    const auto before = recorded();
    const auto r = run(issue("RAJ-02", at));
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, at.string())) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one sentence: " << r.err;
    obstacle.expectUntouched(at, out.path());
    EXPECT_EQ(recorded(), before) << "a badge was issued that nobody got";
  }
}

TEST_F(DeskFiles, EnrolWritesIntoNothingThatIsAlreadyThere) {
  FACEGATE_REQUIRE_MODELS();
  for (const auto& obstacle : obstacles()) {
    SCOPED_TRACE(obstacle.name);
    test::TempDir out;
    const auto at = out / "penny.png";
    obstacle.make(at, out.path());
    const auto before = recorded();
    const auto r = run(enroll("PENNY-01", at));
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, at.string())) << r.err;
    obstacle.expectUntouched(at, out.path());
    EXPECT_EQ(recorded(), before);
  }
}

// The badge file was checked with exists() and written a second later: a file created in
// between (by another user, mode 0666) received the sealed payload, secret included. The
// file is now taken before anything else happens, so whoever tries in between finds it
// taken — the database is only created after it.
TEST_F(DeskFiles, TheBadgeFileIsTakenBeforeTheEnrolmentStarts) {
  FACEGATE_REQUIRE_MODELS();
  const auto at = dir_ / "penny.png";
  test::BackgroundCommand enrolment(kCli, enroll("PENNY-01", at));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(db()) && enrolment.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(fs::exists(db())) << enrolment.wait().err;
  const int planted = ::open(at.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  const int error = errno;
  if (planted >= 0) {
    ::fchmod(planted, 0666);
    ::close(planted);
  }
  const auto r = enrolment.wait();
  EXPECT_LT(planted, 0) << "another user could create the badge file during the enrolment";
  EXPECT_EQ(error, EEXIST);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const struct stat st = lstatOf(at);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(st.st_uid, ::geteuid());
  badge::QrScanner scanner;
  EXPECT_EQ(scanner.scan(cv::imread(at.string(), cv::IMREAD_GRAYSCALE)).size(), 1U);
}

// A badge that cannot be written (a full disk, for real: a tmpfs filled to the last block)
// used to leave its enrolment or plain badge recorded, then revoked — and the pupil's
// previous badge revoked with it. Now nothing is recorded and the old badge stays valid.
class FullDisk : public DeskFiles {
 protected:
  void SetUp() override {
    DeskFiles::SetUp();
    fs::create_directory(dir_ / "full");
    if (::mount("facegate-test", (dir_ / "full").c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                "size=64k,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                   << "); RegistryTest.AFailedDeliveryRecordsNothingAndKeepsTheOldBadge covers "
                      "the same rule";
    }
    mounted_ = true;
    const int fd = ::open((dir_ / "full" / "filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(4096, '\0');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    while (::write(fd, block.data(), 1) > 0) {
    }
    ::close(fd);
  }
  void TearDown() override {
    if (mounted_) {
      ::umount2((dir_ / "full").c_str(), MNT_DETACH);
    }
  }
  bool mounted_ = false;
};

TEST_F(FullDisk, APlainBadgeThatCannotBeWrittenIsNotIssued) {
  ASSERT_EQ(run(issue("RAJ-02", dir_ / "raj.png")).exitCode, 0);
  const auto before = recorded();
  const auto r = run(issue("RAJ-02", dir_ / "full" / "raj-again.png"));
  EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "No space left on device")) << r.err;
  EXPECT_TRUE(contains(r.err, "no badge was issued")) << r.err;
  EXPECT_EQ(test::directoryEntries(dir_ / "full"), std::vector<std::string>{"filler"});
  EXPECT_EQ(recorded(), before) << "the old badge must stay valid and nothing be audited";
}

TEST_F(FullDisk, AnEnrolmentWhoseBadgeCannotBeWrittenIsNotRecorded) {
  FACEGATE_REQUIRE_MODELS();
  ASSERT_EQ(run(issue("PENNY-01", dir_ / "plain.png")).exitCode, 0);
  const auto before = recorded();
  const auto r = run(enroll("PENNY-01", dir_ / "full" / "penny.png"));
  EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "No space left on device")) << r.err;
  EXPECT_TRUE(contains(r.err, "nothing was enrolled")) << r.err;
  EXPECT_EQ(test::directoryEntries(dir_ / "full"), std::vector<std::string>{"filler"});
  EXPECT_EQ(recorded(), before);
}

// keygen with school.pub present and the signing key absent wrote a signing key that
// matched nothing, then failed.
TEST_F(DeskFiles, KeygenNeverLeavesHalfAKeySet) {
  const std::vector<std::string> names{"school-signing.key", "school.pub", "template.key"};
  for (const auto& present : names) {
    for (const bool link : {false, true}) {
      SCOPED_TRACE(present + (link ? " (dangling link)" : " (file)"));
      test::TempDir keys;
      if (link) {
        fs::create_symlink(keys / "target", keys / present);
      } else {
        test::writeFile(keys / present, "the school's real key");
      }
      const auto before = test::directoryEntries(keys.path());
      const auto r = run({"keygen", "--out-dir", keys.path().string(), "--with-template-key"});
      EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
      EXPECT_TRUE(contains(r.err, (keys / present).string())) << r.err;
      EXPECT_TRUE(contains(r.err, "nothing was written")) << r.err;
      EXPECT_EQ(test::directoryEntries(keys.path()), before)
          << "a half-made key set, or a temporary left";
      if (!link) {
        EXPECT_EQ(test::readFile(keys / present), "the school's real key");
      }
    }
  }
}

TEST_F(DeskFiles, KeygenModes) {
  test::TempDir keys;
  const auto r = run({"keygen", "--out-dir", keys.path().string(), "--with-template-key"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(lstatOf(keys / "school-signing.key").st_mode & 07777, 0600U);
  EXPECT_EQ(lstatOf(keys / "template.key").st_mode & 07777, 0600U);
  EXPECT_EQ(lstatOf(keys / "school.pub").st_mode & 07777, 0644U) << "public, read by the gate";
  EXPECT_EQ(test::directoryEntries(keys.path()),
            (std::vector<std::string>{"school-signing.key", "school.pub", "template.key"}));
}

// `badge render --out` overwrote an existing file through a symbolic link (a root-owned
// configuration became PNG data) and kept its 0644 mode.
TEST_F(DeskFiles, RenderReplacesOnlyWithForceAndNeverThroughALink) {
  const std::string payload = "FACEGATE-RENDER-TEST-0123456789";
  for (const auto& obstacle : obstacles()) {
    SCOPED_TRACE(obstacle.name);
    test::TempDir out;
    const auto at = out / "badge.png";
    obstacle.make(at, out.path());
    const auto r = run({"badge", "render", "--out", at.string()}, payload + "\n");
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.err, at.string())) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    obstacle.expectUntouched(at, out.path());

    const auto forced = run({"badge", "render", "--out", at.string(), "--force"}, payload + "\n");
    if (obstacle.name == "directory") {
      EXPECT_EQ(forced.exitCode, 2) << "a directory is never replaced";
      EXPECT_TRUE(fs::is_directory(at));
      continue;
    }
    ASSERT_EQ(forced.exitCode, 0) << forced.err;
    const struct stat st = lstatOf(at);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << "the link itself is replaced";
    EXPECT_EQ(st.st_mode & 07777, 0600U);
    badge::QrScanner scanner;
    EXPECT_EQ(scanner.scan(cv::imread(at.string(), cv::IMREAD_GRAYSCALE)),
              std::vector<std::string>{payload});
    if (obstacle.name == "dangling symbolic link") {
      EXPECT_FALSE(fs::exists(out / "target")) << "written through the link";
      EXPECT_EQ(test::directoryEntries(out.path()), std::vector<std::string>{"badge.png"});
    } else if (obstacle.name == "symbolic link to a configuration file") {
      obstacle.expectUntouched(at, out.path());  // the link's target
      EXPECT_EQ(test::directoryEntries(out.path()),
                (std::vector<std::string>{"badge.png", "facegate.toml"}));
    } else {
      EXPECT_EQ(test::directoryEntries(out.path()), std::vector<std::string>{"badge.png"});
    }
  }
}

}  // namespace
}  // namespace facegate
