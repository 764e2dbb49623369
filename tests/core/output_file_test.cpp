// OutputFile: no file is written through a symbolic link, into a file that was already
// there, or left half-made; --force replaces a link itself, never its target.
#include "facegate/core/output_file.hpp"

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <functional>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace facegate {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, std::string_view fragment) {
  return text.find(fragment) != std::string::npos;
}

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool isSymlink(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// Every way a command writes a file without --force.
struct Writer {
  std::string name;
  std::function<Result<void>(const fs::path&, std::string_view)> write;
};

std::vector<Writer> refusingWriters() {
  return {
      {"writeOutputFile",
       [](const fs::path& p, std::string_view c) { return writeOutputFile(p, c); }},
      {"reserve",
       [](const fs::path& p, std::string_view c) -> Result<void> {
         auto file = OutputFile::reserve(p);
         if (!file) {
           return tl::unexpected(file.error());
         }
         if (auto r = file->write(c); !r) {
           return r;
         }
         return file->publish();
       }},
      {"stage",
       [](const fs::path& p, std::string_view c) -> Result<void> {
         auto file = OutputFile::stage(p);
         if (!file) {
           return tl::unexpected(file.error());
         }
         if (auto r = file->write(c); !r) {
           return r;
         }
         return file->publish(Overwrite::Refuse);
       }},
  };
}

class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(OutputFile, CreatesTheFileWithExactlyItsModeWhateverTheUmask) {
  test::TempDir dir;
  {
    const UmaskGuard open(0);
    for (const auto& w : refusingWriters()) {
      const auto path = dir / (w.name + ".png");
      ASSERT_TRUE(w.write(path, "content")) << w.name;
      EXPECT_EQ(modeOf(path), 0600U) << w.name;
      EXPECT_EQ(test::readFile(path), "content") << w.name;
    }
  }
  const UmaskGuard strict(077);
  ASSERT_TRUE(writeOutputFile(dir / "school.pub", "key", Overwrite::Refuse, 0644));
  EXPECT_EQ(modeOf(dir / "school.pub"), 0644U);
  ASSERT_TRUE(writeOutputFile(dir / "forced.png", "x", Overwrite::Replace));
  EXPECT_EQ(modeOf(dir / "forced.png"), 0600U);
}

TEST(OutputFile, RefusesADanglingSymlinkAndCreatesNothingAtItsTarget) {
  for (const auto& w : refusingWriters()) {
    test::TempDir dir;
    fs::create_symlink(dir / "target", dir / "badge.png");
    const auto r = w.write(dir / "badge.png", "secret");
    ASSERT_FALSE(r) << w.name;
    EXPECT_EQ(r.error().code, ErrorCode::AlreadyExists) << w.name;
    EXPECT_TRUE(contains(r.error().message, (dir / "badge.png").string() + " is a symbolic link"))
        << r.error().message;
    EXPECT_FALSE(fs::exists(dir / "target")) << w.name;
    EXPECT_TRUE(isSymlink(dir / "badge.png"));
    EXPECT_EQ(test::directoryEntries(dir.path()), std::vector<std::string>{"badge.png"})
        << "no temporary left";
  }
}

TEST(OutputFile, RefusesASymlinkToAnExistingFileAndLeavesTheFileAlone) {
  for (const auto& w : refusingWriters()) {
    test::TempDir dir;
    test::writeFile(dir / "facegate.toml", "[gate]\n");
    ::chmod((dir / "facegate.toml").c_str(), 0644);
    fs::create_symlink(dir / "facegate.toml", dir / "badge.png");
    const auto r = w.write(dir / "badge.png", "PNG data");
    ASSERT_FALSE(r) << w.name;
    EXPECT_EQ(r.error().code, ErrorCode::AlreadyExists);
    EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n") << w.name;
    EXPECT_EQ(modeOf(dir / "facegate.toml"), 0644U);
  }
}

TEST(OutputFile, RefusesAFileAlreadyThereEvenIfAnybodyMayWriteIt) {
  for (const auto& w : refusingWriters()) {
    test::TempDir dir;
    test::writeFile(dir / "badge.png", "planted");
    ::chmod((dir / "badge.png").c_str(), 0666);
    const auto r = w.write(dir / "badge.png", "secret");
    ASSERT_FALSE(r) << w.name;
    EXPECT_EQ(r.error().code, ErrorCode::AlreadyExists);
    EXPECT_TRUE(contains(r.error().message, "already exists; refusing to overwrite it"))
        << r.error().message;
    EXPECT_EQ(test::readFile(dir / "badge.png"), "planted") << w.name;
    EXPECT_EQ(modeOf(dir / "badge.png"), 0666U);
  }
}

TEST(OutputFile, RefusesADirectoryEvenWithReplace) {
  test::TempDir dir;
  fs::create_directory(dir / "badge.png");
  for (const auto& w : refusingWriters()) {
    const auto r = w.write(dir / "badge.png", "x");
    ASSERT_FALSE(r) << w.name;
    EXPECT_EQ(r.error().code, ErrorCode::StorageFailure);
    EXPECT_TRUE(contains(r.error().message, "is a directory")) << r.error().message;
  }
  const auto forced = writeOutputFile(dir / "badge.png", "x", Overwrite::Replace);
  ASSERT_FALSE(forced);
  EXPECT_TRUE(contains(forced.error().message, "is a directory")) << forced.error().message;
  EXPECT_TRUE(fs::is_directory(dir / "badge.png"));
  EXPECT_EQ(test::directoryEntries(dir.path()), std::vector<std::string>{"badge.png"});
}

TEST(OutputFile, ReplaceSwapsASymlinkForTheFileAndNeverWritesThroughIt) {
  test::TempDir dir;
  test::writeFile(dir / "facegate.toml", "[gate]\n");
  ::chmod((dir / "facegate.toml").c_str(), 0644);
  fs::create_symlink(dir / "facegate.toml", dir / "det.png");
  ASSERT_TRUE(writeOutputFile(dir / "det.png", "PNG data", Overwrite::Replace));
  EXPECT_FALSE(isSymlink(dir / "det.png"));
  EXPECT_EQ(test::readFile(dir / "det.png"), "PNG data");
  EXPECT_EQ(modeOf(dir / "det.png"), 0600U);
  EXPECT_EQ(test::readFile(dir / "facegate.toml"), "[gate]\n");
  EXPECT_EQ(modeOf(dir / "facegate.toml"), 0644U);

  // A dangling link is replaced too, and its target still not created.
  fs::create_symlink(dir / "nowhere", dir / "pad.png");
  ASSERT_TRUE(writeOutputFile(dir / "pad.png", "PNG", Overwrite::Replace));
  EXPECT_FALSE(isSymlink(dir / "pad.png"));
  EXPECT_FALSE(fs::exists(dir / "nowhere"));
  EXPECT_EQ(test::directoryEntries(dir.path()),
            (std::vector<std::string>{"det.png", "facegate.toml", "pad.png"}));
}

TEST(OutputFile, ReplaceGivesAnOldFileNewContentAndMode) {
  test::TempDir dir;
  test::writeFile(dir / "badge.png", "old");
  ::chmod((dir / "badge.png").c_str(), 0644);
  ASSERT_TRUE(writeOutputFile(dir / "badge.png", "new", Overwrite::Replace));
  EXPECT_EQ(test::readFile(dir / "badge.png"), "new");
  EXPECT_EQ(modeOf(dir / "badge.png"), 0600U);
}

TEST(OutputFile, AReservedFileHoldsItsNameAndGoesAwayIfNotPublished) {
  test::TempDir dir;
  {
    auto file = OutputFile::reserve(dir / "badge.png");
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(modeOf(dir / "badge.png"), 0600U) << "the name is taken at once";
    const auto other = writeOutputFile(dir / "badge.png", "theirs");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, ErrorCode::AlreadyExists);
    ASSERT_TRUE(file->write("secret"));
  }  // destroyed unpublished: the enrolment it was for did not happen
  EXPECT_TRUE(test::directoryEntries(dir.path()).empty());
}

TEST(OutputFile, DiscardTruncatesAMovedFileAndNeverRemovesSomebodyElses) {
  test::TempDir dir;
  auto file = OutputFile::reserve(dir / "badge.png");
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->write("secret"));
  fs::rename(dir / "badge.png", dir / "moved.png");
  test::writeFile(dir / "badge.png", "another file");
  file->discard();
  EXPECT_EQ(test::readFile(dir / "moved.png"), "") << "the secret did not survive";
  EXPECT_EQ(test::readFile(dir / "badge.png"), "another file");
}

TEST(OutputFile, DiscardAfterPublishRemovesThePublishedFile) {
  test::TempDir dir;
  auto file = OutputFile::stage(dir / "school.pub");
  ASSERT_TRUE(file);
  ASSERT_TRUE(file->write("key"));
  ASSERT_TRUE(file->publish());
  EXPECT_EQ(test::readFile(dir / "school.pub"), "key");
  file->discard();
  EXPECT_TRUE(test::directoryEntries(dir.path()).empty());
}

TEST(OutputFile, PublishRefusesAFileThatAppearedMeanwhile) {
  test::TempDir dir;
  {
    auto file = OutputFile::stage(dir / "school.pub");
    ASSERT_TRUE(file);
    ASSERT_TRUE(file->write("ours"));
    test::writeFile(dir / "school.pub", "theirs");
    const auto published = file->publish();
    ASSERT_FALSE(published);
    EXPECT_EQ(published.error().code, ErrorCode::AlreadyExists);
  }
  EXPECT_EQ(test::readFile(dir / "school.pub"), "theirs");
  EXPECT_EQ(test::directoryEntries(dir.path()), std::vector<std::string>{"school.pub"});
}

// A write that fails half-way (here the file size limit; a full disk behaves the same)
// leaves nothing: neither the reserved name nor a temporary.
TEST(OutputFile, AFailedWriteLeavesNothingBehind) {
  test::TempDir dir;
  struct Limit {
    rlimit old{};
    void (*oldHandler)(int) = nullptr;
    Limit() {
      ::getrlimit(RLIMIT_FSIZE, &old);
      oldHandler = std::signal(SIGXFSZ, SIG_IGN);
      rlimit small = old;
      small.rlim_cur = 16;
      ::setrlimit(RLIMIT_FSIZE, &small);
    }
    ~Limit() {
      ::setrlimit(RLIMIT_FSIZE, &old);
      std::signal(SIGXFSZ, oldHandler);
    }
  };
  const std::string big(4096, 'x');
  Result<void> reserved;
  Result<void> staged;
  {
    const Limit limit;
    auto file = OutputFile::reserve(dir / "badge.png");
    ASSERT_TRUE(file);
    reserved = file->write(big);
    staged = writeOutputFile(dir / "det.png", big);
  }
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().code, ErrorCode::StorageFailure);
  EXPECT_TRUE(contains(reserved.error().message, "cannot write " + (dir / "badge.png").string()))
      << reserved.error().message;
  ASSERT_FALSE(staged);
  EXPECT_TRUE(test::directoryEntries(dir.path()).empty());
}

TEST(OutputFile, NamesAMissingDirectoryAndPathsThatNameNoFile) {
  test::TempDir dir;
  const auto missing = dir / "no-such-dir" / "badge.png";
  for (const auto& w : refusingWriters()) {
    const auto r = w.write(missing, "x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::StorageFailure);
    EXPECT_TRUE(contains(r.error().message, "cannot create " + missing.string()))
        << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "does not exist")) << r.error().message;
  }
  const auto r = writeOutputFile(dir.path() / "", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

TEST(OutputFile, CheckCanCreateSaysWhatPublishingWouldSay) {
  test::TempDir dir;
  EXPECT_TRUE(checkCanCreate(dir / "free.png"));
  fs::create_symlink(dir / "nowhere", dir / "link.png");
  test::writeFile(dir / "file.png", "x");
  fs::create_directory(dir / "dir.png");
  EXPECT_EQ(checkCanCreate(dir / "link.png").error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(checkCanCreate(dir / "file.png").error().code, ErrorCode::AlreadyExists);
  EXPECT_EQ(checkCanCreate(dir / "dir.png").error().code, ErrorCode::StorageFailure);
  EXPECT_EQ(checkCanCreate(dir / "none" / "x.png").error().code, ErrorCode::StorageFailure);
  EXPECT_TRUE(checkCanCreate(dir / "link.png", Overwrite::Replace));
  EXPECT_TRUE(checkCanCreate(dir / "file.png", Overwrite::Replace));
  EXPECT_FALSE(checkCanCreate(dir / "dir.png", Overwrite::Replace));
  EXPECT_FALSE(fs::exists(dir / "free.png")) << "a check creates nothing";
}

}  // namespace
}  // namespace facegate
