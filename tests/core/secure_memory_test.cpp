#include "facegate/core/secure_memory.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <array>

#include <gtest/gtest.h>

#include "facegate/core/process.hpp"

namespace facegate {
namespace {

TEST(SecureBox, StartsZeroedAndHoldsValues) {
  SecureBox<std::array<float, 128>> box;
  for (const float v : *box) {
    EXPECT_EQ(v, 0.0F);
  }
  (*box)[127] = 1.5F;
  EXPECT_EQ((*box)[127], 1.5F);
}

TEST(SecureBox, MoveLeavesSourceEmpty) {
  SecureBox<std::array<unsigned char, 32>> a;
  (*a)[0] = 7;
  SecureBox<std::array<unsigned char, 32>> b(std::move(a));
  EXPECT_EQ(a.get(), nullptr);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ((*b)[0], 7);
}

TEST(SecureWipe, ZeroesTheBuffer) {
  std::array<unsigned char, 64> secret{};
  secret.fill(0xab);
  secureWipe(secret.data(), secret.size());
  for (const auto byte : secret) {
    EXPECT_EQ(byte, 0);
  }
}

TEST(HardenProcess, DisablesCoreDumps) {
  ASSERT_TRUE(hardenProcess());
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, 0U);
#ifndef __SANITIZE_ADDRESS__
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
#endif
}

}  // namespace
}  // namespace facegate
