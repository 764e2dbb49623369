// The bench module's arithmetic: what `facegate bench` reports as p50, p95 and max.
#include <algorithm>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

#include "facegate/bench/latency.hpp"
#include "facegate/bench/machine.hpp"

namespace facegate::bench {
namespace {

TEST(Summarise, NearestRankQuantilesWhateverTheOrder) {
  std::vector<double> samples(100);
  std::iota(samples.begin(), samples.end(), 1.0);  // 1 .. 100
  std::shuffle(samples.begin(), samples.end(), std::mt19937(7));
  const Summary s = summarise(samples);
  EXPECT_DOUBLE_EQ(s.p50, 51.0);  // rank round(0.50 * 99) = 50 of 0..99
  EXPECT_DOUBLE_EQ(s.p95, 95.0);  // rank round(0.95 * 99) = 94
  EXPECT_DOUBLE_EQ(s.max, 100.0);
}

TEST(Summarise, OneSampleIsEveryQuantileAndNoneIsZero) {
  const Summary one = summarise({4.5});
  EXPECT_DOUBLE_EQ(one.p50, 4.5);
  EXPECT_DOUBLE_EQ(one.p95, 4.5);
  EXPECT_DOUBLE_EQ(one.max, 4.5);
  const Summary none = summarise({});
  EXPECT_DOUBLE_EQ(none.p50, 0.0);
  EXPECT_DOUBLE_EQ(none.max, 0.0);
}

TEST(Ratio, IsStockOverOursAndZeroWithoutAMeasurement) {
  EXPECT_DOUBLE_EQ(ratio(10.0, 2.5), 4.0);
  EXPECT_DOUBLE_EQ(ratio(10.0, 0.0), 0.0);
}

TEST(Timed, RunsTheWarmUpUntimedAndReturnsOneSamplePerIteration) {
  int calls = 0;
  const auto samples = timed(2, 3, [&] { ++calls; });
  EXPECT_EQ(calls, 5);
  ASSERT_EQ(samples.size(), 3U);
  for (const double ms : samples) {
    EXPECT_GE(ms, 0.0);
  }
}

TEST(Blas, TheReferenceImplementationIsRecognisedByItsDirectory) {
  EXPECT_TRUE(isReferenceBlas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"));
  EXPECT_FALSE(isReferenceBlas("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"));
  EXPECT_FALSE(isReferenceBlas(""));
}

}  // namespace
}  // namespace facegate::bench
