#include "facegate/core/sha256.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace facegate {
namespace {

TEST(Sha256File, MatchesKnownDigests) {
  test::TempDir dir;
  test::writeFile(dir / "empty", "");
  test::writeFile(dir / "abc", "abc");
  EXPECT_EQ(*sha256File(dir / "empty"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(*sha256File(dir / "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256File, SpansManyReadBuffers) {
  test::TempDir dir;
  test::writeFile(dir / "big", std::string(1'000'000, 'a'));
  EXPECT_EQ(*sha256File(dir / "big"),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256File, MissingFileIsAnError) {
  test::TempDir dir;
  const auto result = sha256File(dir / "absent");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::FileNotFound);
  EXPECT_NE(result.error().message.find("absent"), std::string::npos);
}

TEST(Sha256File, DirectoryIsUnreadable) {
  test::TempDir dir;
  const auto result = sha256File(dir.path());
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().code, ErrorCode::FileNotFound);
}

}  // namespace
}  // namespace facegate
