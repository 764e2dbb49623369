#pragma once

// Verification error rates from distance scores: pure functions, no faces, no files.
//
// Conventions (those of ISO/IEC 19795-1 with a distance instead of a similarity):
// - a pair is accepted as the same person when its distance is <= the threshold
//   (face::isMatch);
// - FMR(t), false match rate: the fraction of impostor pairs with distance <= t;
// - FNMR(t), false non-match rate: the fraction of genuine pairs with distance > t.
// A rate over an empty set is 0 (no error was observed); the summary figures that need both
// sets (eer, fnmrAtFmr) return nullopt when either is empty.

#include <cstddef>
#include <optional>
#include <vector>

namespace facegate::eval {

// An error rate and the threshold it was measured at.
struct RateAt {
  double rate = 0.0;
  double threshold = 0.0;
};

// One point of a DET curve (both rates at one threshold).
struct DetPoint {
  double threshold = 0.0;
  double fmr = 0.0;
  double fnmr = 0.0;
};

// Genuine and impostor distances, sorted once on construction.
class DistanceScores {
 public:
  DistanceScores(std::vector<double> genuine, std::vector<double> impostor);

  const std::vector<double>& genuine() const noexcept { return genuine_; }    // ascending
  const std::vector<double>& impostor() const noexcept { return impostor_; }  // ascending

  std::size_t falseAccepts(double threshold) const;  // impostor pairs with distance <= t
  std::size_t falseRejects(double threshold) const;  // genuine pairs with distance > t
  double fmrAt(double threshold) const;
  double fnmrAt(double threshold) const;

  // The equal error rate: at the candidate threshold where |FMR - FNMR| is smallest, their
  // mean (the two step curves rarely meet exactly). Candidates are every score and one just
  // below the smallest; ties go to the lowest threshold. nullopt if either set is empty.
  std::optional<RateAt> eer() const;

  // The FNMR at the largest threshold whose FMR is <= targetFmr (among the candidates
  // above: between two scores neither rate changes). nullopt if either set is empty.
  std::optional<RateAt> fnmrAtFmr(double targetFmr) const;

  // Both rates at every candidate threshold, ascending: FMR rises from 0, FNMR falls to 0.
  std::vector<DetPoint> detCurve() const;

 private:
  std::vector<double> candidateThresholds() const;

  std::vector<double> genuine_;
  std::vector<double> impostor_;
};

// Whether `impostorCount` pairs support a claim about FMR = `fmr`: by the rule of three, zero
// errors in n trials bounds the true rate below 3/n at 95 % confidence, so at least 3/fmr
// impostor pairs are needed.
bool supportsFmr(std::size_t impostorCount, double fmr) noexcept;

// A scored pair of an n-fold protocol (LFW's "View 2").
struct FoldPair {
  int fold = 0;  // 0-based
  bool genuine = false;
  double distance = 0.0;
  // False when an image of the pair gave no usable face: no distance, and LFW's protocol
  // counts the pair as an error (it trains no threshold and is never correct).
  bool acquired = true;
};

struct FoldAccuracy {
  std::vector<double> accuracy;    // per fold, on that fold's pairs
  std::vector<double> thresholds;  // per fold, chosen on the other folds
  double mean = 0.0;
  double stddev = 0.0;  // sample standard deviation of the fold accuracies (n - 1)
};

// LFW's cross-validated accuracy: for each fold, the threshold that maximises accuracy on
// the other folds (midpoints between consecutive distances, ties to the lowest) is applied
// to that fold. A pair that was not acquired is left out of the training and counted wrong
// in its fold (leave such pairs out of `pairs` for the accuracy without them). Folds
// 0..foldCount-1; a fold without pairs gets accuracy 0 and is still
// counted. foldCount must be >= 2.
FoldAccuracy crossValidatedAccuracy(const std::vector<FoldPair>& pairs, int foldCount);

// The threshold maximising accuracy (genuine <= t, impostor > t) over `pairs`, and that
// accuracy. Candidates: below all, midpoints between consecutive distinct distances, above
// all; ties to the lowest. Accuracy 0 for no pairs.
RateAt bestAccuracyThreshold(const std::vector<FoldPair>& pairs);

}  // namespace facegate::eval
