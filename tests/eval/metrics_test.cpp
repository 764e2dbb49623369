// Error rates computed by hand on small score sets.
#include "facegate/eval/metrics.hpp"

#include <gtest/gtest.h>

namespace facegate::eval {
namespace {

// Match when distance <= t. Sorted scores and the rates at each candidate threshold:
//   t        below 0.1  0.1   0.2  0.3   0.4   0.5   0.6  0.7  0.8  0.9
//   FMR      0          0     0    0     0.2   0.4   0.4  0.6  0.8  1
//   FNMR     1          0.75  0.5  0.25  0.25  0.25  0    0    0    0
DistanceScores handExample() {
  return DistanceScores({0.6, 0.1, 0.3, 0.2}, {0.9, 0.4, 0.8, 0.5, 0.7});
}

TEST(Metrics, RatesAtAThreshold) {
  const auto s = handExample();
  EXPECT_DOUBLE_EQ(s.fmrAt(0.5), 0.4);
  EXPECT_DOUBLE_EQ(s.fnmrAt(0.5), 0.25);
  EXPECT_DOUBLE_EQ(s.fmrAt(0.35), 0.0);
  EXPECT_DOUBLE_EQ(s.fnmrAt(0.35), 0.25);
  EXPECT_DOUBLE_EQ(s.fmrAt(0.05), 0.0);
  EXPECT_DOUBLE_EQ(s.fnmrAt(0.05), 1.0);
  EXPECT_DOUBLE_EQ(s.fmrAt(2.0), 1.0);
  EXPECT_DOUBLE_EQ(s.fnmrAt(2.0), 0.0);
  EXPECT_EQ(s.falseAccepts(0.75), 3u);
  EXPECT_EQ(s.falseRejects(0.15), 3u);
}

TEST(Metrics, ScoresAreSorted) {
  const auto s = handExample();
  EXPECT_EQ(s.genuine(), (std::vector<double>{0.1, 0.2, 0.3, 0.6}));
  EXPECT_EQ(s.impostor(), (std::vector<double>{0.4, 0.5, 0.7, 0.8, 0.9}));
}

TEST(Metrics, EqualErrorRateIsWhereTheCurvesCross) {
  const auto eer = handExample().eer();
  ASSERT_TRUE(eer.has_value());
  // Closest approach at t = 0.4: FMR 0.2, FNMR 0.25.
  EXPECT_DOUBLE_EQ(eer->threshold, 0.4);
  EXPECT_DOUBLE_EQ(eer->rate, 0.225);
}

TEST(Metrics, FnmrAtTheLargestThresholdWithinTheTargetFmr) {
  const auto s = handExample();
  const auto at20 = s.fnmrAtFmr(0.2);
  ASSERT_TRUE(at20.has_value());
  EXPECT_DOUBLE_EQ(at20->threshold, 0.4);
  EXPECT_DOUBLE_EQ(at20->rate, 0.25);
  const auto at10 = s.fnmrAtFmr(0.1);  // FMR 0.2 at 0.4 is too much: back to 0.3
  ASSERT_TRUE(at10.has_value());
  EXPECT_DOUBLE_EQ(at10->threshold, 0.3);
  EXPECT_DOUBLE_EQ(at10->rate, 0.25);
  const auto at40 = s.fnmrAtFmr(0.4);  // 0.6 keeps FMR at 0.4 and accepts every genuine pair
  ASSERT_TRUE(at40.has_value());
  EXPECT_DOUBLE_EQ(at40->threshold, 0.6);
  EXPECT_DOUBLE_EQ(at40->rate, 0.0);
  const auto atZero = s.fnmrAtFmr(0.0);
  ASSERT_TRUE(atZero.has_value());
  EXPECT_DOUBLE_EQ(atZero->rate, 0.25);
}

TEST(Metrics, TiedScoresCountAsAccepted) {
  // A genuine and an impostor pair at exactly 0.5: at t = 0.5 both are accepted.
  const DistanceScores s({0.5, 0.5}, {0.5, 0.9});
  EXPECT_DOUBLE_EQ(s.fmrAt(0.5), 0.5);
  EXPECT_DOUBLE_EQ(s.fnmrAt(0.5), 0.0);
  EXPECT_DOUBLE_EQ(s.fmrAt(0.4999), 0.0);
  EXPECT_DOUBLE_EQ(s.fnmrAt(0.4999), 1.0);
  const auto eer = s.eer();
  ASSERT_TRUE(eer.has_value());
  EXPECT_DOUBLE_EQ(eer->threshold, 0.5);
  EXPECT_DOUBLE_EQ(eer->rate, 0.25);
  // Duplicates give one DET point: below 0.5, 0.5, 0.9.
  EXPECT_EQ(s.detCurve().size(), 3u);
}

TEST(Metrics, SeparatedSetsHaveZeroEerAtTheLowestSeparatingThreshold) {
  const DistanceScores s({0.1, 0.2}, {0.3});
  const auto eer = s.eer();
  ASSERT_TRUE(eer.has_value());
  EXPECT_DOUBLE_EQ(eer->rate, 0.0);
  EXPECT_DOUBLE_EQ(eer->threshold, 0.2);
}

TEST(Metrics, DetCurveIsMonotonic) {
  const auto curve = handExample().detCurve();
  ASSERT_EQ(curve.size(), 10u);
  EXPECT_DOUBLE_EQ(curve.front().fmr, 0.0);
  EXPECT_DOUBLE_EQ(curve.front().fnmr, 1.0);
  EXPECT_LT(curve.front().threshold, 0.1);
  EXPECT_DOUBLE_EQ(curve.back().fmr, 1.0);
  EXPECT_DOUBLE_EQ(curve.back().fnmr, 0.0);
  for (std::size_t i = 1; i < curve.size(); ++i) {
    EXPECT_GT(curve[i].threshold, curve[i - 1].threshold);
    EXPECT_GE(curve[i].fmr, curve[i - 1].fmr);
    EXPECT_LE(curve[i].fnmr, curve[i - 1].fnmr);
  }
}

TEST(Metrics, EmptyInputs) {
  const DistanceScores none({}, {});
  EXPECT_DOUBLE_EQ(none.fmrAt(0.5), 0.0);
  EXPECT_DOUBLE_EQ(none.fnmrAt(0.5), 0.0);
  EXPECT_FALSE(none.eer().has_value());
  EXPECT_FALSE(none.fnmrAtFmr(0.01).has_value());
  EXPECT_TRUE(none.detCurve().empty());

  const DistanceScores genuineOnly({0.2, 0.4}, {});
  EXPECT_DOUBLE_EQ(genuineOnly.fnmrAt(0.3), 0.5);
  EXPECT_DOUBLE_EQ(genuineOnly.fmrAt(0.3), 0.0);
  EXPECT_FALSE(genuineOnly.eer().has_value());
  EXPECT_FALSE(genuineOnly.fnmrAtFmr(0.01).has_value());
  EXPECT_EQ(genuineOnly.detCurve().size(), 3u);

  const DistanceScores impostorOnly({}, {0.7});
  EXPECT_FALSE(impostorOnly.eer().has_value());
  EXPECT_DOUBLE_EQ(impostorOnly.fmrAt(0.7), 1.0);
}

TEST(Metrics, RuleOfThree) {
  EXPECT_TRUE(supportsFmr(300, 1e-2));
  EXPECT_FALSE(supportsFmr(299, 1e-2));
  EXPECT_TRUE(supportsFmr(3000, 1e-3));
  EXPECT_FALSE(supportsFmr(2999, 1e-3));
  EXPECT_TRUE(supportsFmr(30000, 1e-4));
  EXPECT_FALSE(supportsFmr(29999, 1e-4));
  EXPECT_FALSE(supportsFmr(1'000'000, 0.0));
}

TEST(Metrics, BestAccuracyThresholdIsAMidpoint) {
  const std::vector<FoldPair> pairs{
      {0, true, 0.4}, {0, true, 0.6}, {0, false, 0.5}, {0, false, 0.9}};
  // Candidates -0.6, 0.45, 0.55, 0.75, 1.9 give 2, 3, 2, 3, 2 right of 4: the lower 3 wins.
  const RateAt best = bestAccuracyThreshold(pairs);
  EXPECT_DOUBLE_EQ(best.threshold, 0.45);
  EXPECT_DOUBLE_EQ(best.rate, 0.75);
  EXPECT_DOUBLE_EQ(bestAccuracyThreshold({}).rate, 0.0);
}

TEST(Metrics, CrossValidatedAccuracy) {
  const std::vector<FoldPair> pairs{
      {0, true, 0.2}, {0, true, 0.3}, {0, false, 0.7}, {0, false, 0.8},
      {1, true, 0.4}, {1, true, 0.6}, {1, false, 0.5}, {1, false, 0.9},
  };
  const FoldAccuracy result = crossValidatedAccuracy(pairs, 2);
  // Fold 0 gets fold 1's threshold 0.45 and is all right; fold 1 gets fold 0's 0.5 (between
  // 0.3 and 0.7), which rejects 0.6 and accepts the impostor at 0.5: half right.
  ASSERT_EQ(result.accuracy.size(), 2u);
  EXPECT_DOUBLE_EQ(result.thresholds[0], 0.45);
  EXPECT_DOUBLE_EQ(result.thresholds[1], 0.5);
  EXPECT_DOUBLE_EQ(result.accuracy[0], 1.0);
  EXPECT_DOUBLE_EQ(result.accuracy[1], 0.5);
  EXPECT_DOUBLE_EQ(result.mean, 0.75);
  EXPECT_NEAR(result.stddev, 0.35355339, 1e-8);
  EXPECT_THROW(crossValidatedAccuracy(pairs, 1), std::invalid_argument);
}

}  // namespace
// A pair without a usable face trains no threshold and counts as an error in its fold, as
// LFW's protocol counts every pair.
TEST(Metrics, CrossValidatedAccuracyCountsUnacquiredPairsAsErrors) {
  const std::vector<FoldPair> pairs{
      {0, true, 0.2},
      {0, true, 0.3},
      {0, false, 0.7},
      {0, false, 0.8},
      {1, true, 0.4},
      {1, true, 0.6},
      {1, false, 0.5},
      {1, false, 0.9},
      // Unacquired: their distance (0) would be a perfect genuine and a false accept.
      {0, true, 0.0, false},
      {1, false, 0.0, false},
  };
  const FoldAccuracy result = crossValidatedAccuracy(pairs, 2);
  // The thresholds are those of the acquired pairs alone (as in CrossValidatedAccuracy).
  EXPECT_DOUBLE_EQ(result.thresholds[0], 0.45);
  EXPECT_DOUBLE_EQ(result.thresholds[1], 0.5);
  EXPECT_DOUBLE_EQ(result.accuracy[0], 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(result.accuracy[1], 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(result.mean, 0.6);
}

}  // namespace facegate::eval
