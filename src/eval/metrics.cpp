#include "facegate/eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace facegate::eval {
namespace {

double fraction(std::size_t count, std::size_t total) {
  return total == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(total);
}

}  // namespace

DistanceScores::DistanceScores(std::vector<double> genuine, std::vector<double> impostor)
    : genuine_(std::move(genuine)), impostor_(std::move(impostor)) {
  std::sort(genuine_.begin(), genuine_.end());
  std::sort(impostor_.begin(), impostor_.end());
}

std::size_t DistanceScores::falseAccepts(double threshold) const {
  return static_cast<std::size_t>(std::upper_bound(impostor_.begin(), impostor_.end(), threshold) -
                                  impostor_.begin());
}

std::size_t DistanceScores::falseRejects(double threshold) const {
  return static_cast<std::size_t>(genuine_.end() -
                                  std::upper_bound(genuine_.begin(), genuine_.end(), threshold));
}

double DistanceScores::fmrAt(double threshold) const {
  return fraction(falseAccepts(threshold), impostor_.size());
}

double DistanceScores::fnmrAt(double threshold) const {
  return fraction(falseRejects(threshold), genuine_.size());
}

std::vector<double> DistanceScores::candidateThresholds() const {
  std::vector<double> all;
  all.reserve(genuine_.size() + impostor_.size() + 1);
  std::merge(genuine_.begin(), genuine_.end(), impostor_.begin(), impostor_.end(),
             std::back_inserter(all));
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (all.empty()) {
    return all;
  }
  // Below every score: nothing is accepted (FMR 0, FNMR 1).
  std::vector<double> candidates{
      std::nextafter(all.front(), -std::numeric_limits<double>::infinity())};
  candidates.insert(candidates.end(), all.begin(), all.end());
  return candidates;
}

std::vector<DetPoint> DistanceScores::detCurve() const {
  std::vector<DetPoint> points;
  for (const double t : candidateThresholds()) {
    points.push_back({t, fmrAt(t), fnmrAt(t)});
  }
  return points;
}

std::optional<RateAt> DistanceScores::eer() const {
  if (genuine_.empty() || impostor_.empty()) {
    return std::nullopt;
  }
  std::optional<DetPoint> best;
  for (const DetPoint& p : detCurve()) {
    if (!best || std::abs(p.fmr - p.fnmr) < std::abs(best->fmr - best->fnmr)) {
      best = p;
    }
  }
  return RateAt{(best->fmr + best->fnmr) / 2.0, best->threshold};
}

std::optional<RateAt> DistanceScores::fnmrAtFmr(double targetFmr) const {
  if (genuine_.empty() || impostor_.empty()) {
    return std::nullopt;
  }
  // FMR never falls as the threshold rises, so the last candidate within target is the one.
  std::optional<RateAt> found;
  for (const DetPoint& p : detCurve()) {
    if (p.fmr > targetFmr) {
      break;
    }
    found = RateAt{p.fnmr, p.threshold};
  }
  return found;
}

bool supportsFmr(std::size_t impostorCount, double fmr) noexcept {
  return fmr > 0.0 && static_cast<double>(impostorCount) >= 3.0 / fmr;
}

RateAt bestAccuracyThreshold(const std::vector<FoldPair>& pairs) {
  if (pairs.empty()) {
    return {0.0, 0.0};
  }
  std::vector<double> distances;
  distances.reserve(pairs.size());
  for (const FoldPair& p : pairs) {
    distances.push_back(p.distance);
  }
  std::sort(distances.begin(), distances.end());
  distances.erase(std::unique(distances.begin(), distances.end()), distances.end());
  std::vector<double> candidates;
  candidates.push_back(distances.front() - 1.0);
  for (std::size_t i = 1; i < distances.size(); ++i) {
    candidates.push_back((distances[i - 1] + distances[i]) / 2.0);
  }
  candidates.push_back(distances.back() + 1.0);

  RateAt best{-1.0, 0.0};
  for (const double t : candidates) {
    std::size_t correct = 0;
    for (const FoldPair& p : pairs) {
      correct += (p.distance <= t) == p.genuine ? 1 : 0;
    }
    const double accuracy = fraction(correct, pairs.size());
    if (accuracy > best.rate) {
      best = {accuracy, t};
    }
  }
  return best;
}

FoldAccuracy crossValidatedAccuracy(const std::vector<FoldPair>& pairs, int foldCount) {
  if (foldCount < 2) {
    throw std::invalid_argument("crossValidatedAccuracy needs at least two folds");
  }
  FoldAccuracy result;
  for (int fold = 0; fold < foldCount; ++fold) {
    std::vector<FoldPair> training;
    std::vector<FoldPair> testing;
    for (const FoldPair& p : pairs) {
      if (p.fold == fold) {
        testing.push_back(p);
      } else if (p.acquired) {
        training.push_back(p);
      }
    }
    const double threshold = bestAccuracyThreshold(training).threshold;
    std::size_t correct = 0;
    for (const FoldPair& p : testing) {
      correct += p.acquired && (p.distance <= threshold) == p.genuine ? 1 : 0;
    }
    result.thresholds.push_back(threshold);
    result.accuracy.push_back(fraction(correct, testing.size()));
  }
  double sum = 0.0;
  for (const double a : result.accuracy) {
    sum += a;
  }
  const auto n = static_cast<double>(foldCount);
  result.mean = sum / n;
  double squares = 0.0;
  for (const double a : result.accuracy) {
    squares += (a - result.mean) * (a - result.mean);
  }
  result.stddev = std::sqrt(squares / (n - 1.0));
  return result;
}

}  // namespace facegate::eval
