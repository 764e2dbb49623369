// facegated as systemd runs it: --check-config, the demo, SIGHUP reloads and SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "facegate/badge/keys.hpp"
#include "test_support.hpp"

extern char** environ;  // NOLINT

namespace facegate {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kDaemon = FACEGATE_DAEMON;

// A facegated running in the background, its stderr going to a file.
class Running {
 public:
  Running(const std::vector<std::string>& args, const fs::path& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    std::vector<std::string> storage{kDaemon.string()};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) {
      argv.push_back(s.data());
    }
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kDaemon.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Running() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Waits until the log holds `text`; false after `limit`.
  bool waitFor(const std::string& text, std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (test::readFile(log_).find(text) != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  void signal(int sig) const { kill(pid_, sig); }
  // Exit status once it has exited, -1 after `limit`.
  int wait(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }
  std::string log() const { return test::readFile(log_); }
  bool started() const { return pid_ > 0; }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

class Daemon : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        badge::savePublicKey(badge::SigningKey::generate().publicKey(), dir_ / "school.pub"));
    fs::create_directory(dir_ / "frames");
    for (int i = 0; i < 5; ++i) {
      cv::imwrite((dir_ / "frames" / fmt::format("{:03}.png", i)).string(),
                  cv::Mat(480, 640, CV_8UC3, cv::Scalar(100 + i, 120, 140)));
    }
  }

  // A working configuration on recorded frames, with `extra` lines appended to [face].
  std::string config(const std::string& faceExtra = "") const {
    return fmt::format(R"(
[gate]
id = "test-gate"
[camera]
source = "images:{}"
fps = 20
[badge]
public_key = "school.pub"
[face]
threshold = 0.55
{}
[storage]
database = "gate.db"
[logging]
target = "stderr"
)",
                       (dir_ / "frames").string(), faceExtra);
  }

  test::CommandResult check(const std::string& text) {
    test::writeFile(dir_ / "facegate.toml", text);
    return test::runCommand(kDaemon,
                            {"--check-config", "--config", (dir_ / "facegate.toml").string()});
  }

  test::TempDir dir_;
};

TEST_F(Daemon, CheckConfigAcceptsAUsableConfiguration) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = check(config());
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("is usable"), std::string::npos);
}

TEST_F(Daemon, CheckConfigRefusesEachBadConfigurationWithItsReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {config("frames = 3\nwindw_ms = 100"), "facegate.toml:12: unknown key face.windw_ms"},
      {config("frames = \"three\""), "face.frames must be an integer"},
      {config("frames = 99"), "face.frames = 99"},
      {config("window_ms = 10"), "face.window_ms = 10"},
      {config("fusion = \"mean\""), "face.fusion"},
      {"[camera]\nfps = 30\nfps = 31\n", "facegate.toml:3"},
      {"this is not toml", "invalid TOML"},
      {"[gate]\nid = \"gate-1\"\n[badge]\npublic_key = \"absent.pub\"\n[camera]\nsource = \"0\"\n",
       "absent.pub does not exist"},
  };
  for (const auto& [text, fragment] : cases) {
    const auto r = check(text);
    EXPECT_NE(r.exitCode, 0) << fragment;
    EXPECT_NE(r.err.find(fragment), std::string::npos)
        << "expected '" << fragment << "' in: " << r.err;
  }
}

TEST_F(Daemon, CheckConfigRefusesAMissingFileAndAnUnreadableKey) {
  auto r = test::runCommand(kDaemon, {"--check-config", "--config", (dir_ / "nope.toml").string()});
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("nope.toml"), std::string::npos) << r.err;
  test::writeFile(dir_ / "school.pub", "facegate-signing-key-v1\n00\n");
  r = check(config());
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("school.pub"), std::string::npos) << r.err;
}

// What the daemon could not run must not be called usable (issue: a database path that is a
// directory, and a verification window too short for its frames, were "usable").
TEST_F(Daemon, CheckConfigRefusesADatabaseThatIsADirectory) {
  fs::create_directory(dir_ / "gate.db");
  const auto r = check(config());
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("gate.db is a directory, not a database file"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("usable"), std::string::npos) << r.out;
}

// Issue 11: a database others can read, or another user's, is refused by --check-config
// (systemd's ExecStartPre) and by the daemon itself at start-up, with the fix in the message.
TEST_F(Daemon, CheckConfigAndStartUpRefuseADatabaseOthersCanRead) {
  test::writeFile(dir_ / "gate.db", "");
  fs::permissions(dir_ / "gate.db", fs::perms::owner_read | fs::perms::owner_write |
                                        fs::perms::group_read | fs::perms::others_read);
  const std::string expected = "chmod 600 " + (dir_ / "gate.db").string();
  const auto r = check(config());
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("storage.database: database " + (dir_ / "gate.db").string()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("usable"), std::string::npos) << r.out;

  FACEGATE_REQUIRE_MODELS();
  Running daemon(
      {"--config", (dir_ / "facegate.toml").string(), "--models", test::modelDir().string()},
      dir_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  EXPECT_NE(daemon.wait(60s), 0) << daemon.log();
  EXPECT_NE(daemon.log().find(expected), std::string::npos) << daemon.log();
  EXPECT_EQ(fs::file_size(dir_ / "gate.db"), 0U);
}

TEST_F(Daemon, CheckConfigRefusesAWindowTooShortForTheFramesAtTheCameraRate) {
  std::string text = config();
  text.replace(text.find("fps = 20"), 8, "fps = 2");
  const auto r = check(text);
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("face.window_ms = 3000 is too short: a decision needs 8 frames of one "
                       "face"),
            std::string::npos)
      << r.err;
}

TEST_F(Daemon, CheckConfigLooksForTheModelsWhereTheDaemonWould) {
  test::writeFile(dir_ / "facegate.toml", config());
  auto r =
      test::runCommand(kDaemon, {"--check-config", "--config", (dir_ / "facegate.toml").string(),
                                 "--models", (dir_ / "no-models-here").string()});
  EXPECT_NE(r.exitCode, 0) << "--models names a directory without the models: " << r.out;
  EXPECT_NE(r.err.find("no-models-here"), std::string::npos) << r.err;
  FACEGATE_REQUIRE_MODELS();
  r = test::runCommand(kDaemon, {"--check-config", "--config", (dir_ / "facegate.toml").string(),
                                 "--models", test::modelDir().string()});
  EXPECT_EQ(r.exitCode, 0) << r.err;
}

TEST_F(Daemon, CheckConfigWarnsAboutTheDeprecatedFusionKeyButAcceptsIt) {
  FACEGATE_REQUIRE_MODELS();
  const auto r = check(config("fusion = \"median\""));
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("warning: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("face.fusion is no longer used"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("is usable"), std::string::npos);
}

TEST_F(Daemon, UnknownArgumentIsRefused) {
  const auto r = test::runCommand(kDaemon, {"--frobnicate"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("--frobnicate"), std::string::npos);
}

TEST_F(Daemon, DemoScenarioRunsToTheEndWithEveryOutcomeAsExpected) {
  FACEGATE_REQUIRE_MODELS();
  test::writeFile(dir_ / "empty.toml",
                  "# all defaults: the demo\n[logging]\ntarget = \"stderr\"\n");
  const auto r = test::runCommand(kDaemon, {"--config", (dir_ / "empty.toml").string()});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("demo: 9 of 9 passages decided as expected"), std::string::npos) << r.out;
  for (const char* outcome :
       {"GRANTED", "MANUAL_CHECK", "MISMATCH", "REJECT_BADGE", "TIMEOUT", "OUT_OF_SERVICE"}) {
    EXPECT_NE(r.out.find(outcome), std::string::npos) << outcome;
  }
}

TEST_F(Daemon, SighupRefusesABadConfigKeepsRunningAndSigtermStopsCleanly) {
  FACEGATE_REQUIRE_MODELS();
  test::writeFile(dir_ / "facegate.toml", config());
  Running daemon({"--config", (dir_ / "facegate.toml").string()}, dir_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  ASSERT_TRUE(daemon.waitFor("ready: camera", 60s)) << daemon.log();

  test::writeFile(dir_ / "facegate.toml", config("frames = 0"));
  daemon.signal(SIGHUP);
  ASSERT_TRUE(daemon.waitFor("configuration reload refused, keeping the running one", 10s))
      << daemon.log();
  EXPECT_NE(daemon.log().find("face.frames = 0"), std::string::npos);

  test::writeFile(dir_ / "facegate.toml", config("frames = 2"));
  daemon.signal(SIGHUP);
  ASSERT_TRUE(daemon.waitFor("configuration reloaded", 10s)) << daemon.log();

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0) << daemon.log();
  EXPECT_NE(daemon.log().find("stopping:"), std::string::npos);
}

TEST_F(Daemon, WaitsOutOfServiceForAMissingCameraAndStopsOnSigterm) {
  FACEGATE_REQUIRE_MODELS();
  std::string text = config();
  const auto at = text.find("source = ");
  text.replace(at, text.find('\n', at) - at, "source = \"/dev/video-facegate-absent\"");
  test::writeFile(dir_ / "facegate.toml", text);
  Running daemon({"--config", (dir_ / "facegate.toml").string()}, dir_ / "daemon.log");
  ASSERT_TRUE(daemon.started());
  ASSERT_TRUE(daemon.waitFor("not available", 60s)) << daemon.log();
  EXPECT_NE(daemon.log().find("repeating out_of_service"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.log().find("ready: camera"), std::string::npos) << "no READY without a camera";
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0) << daemon.log();
  EXPECT_NE(daemon.log().find("stopping before the camera opened"), std::string::npos);
}

}  // namespace
}  // namespace facegate
