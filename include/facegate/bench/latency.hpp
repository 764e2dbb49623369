#pragma once

// Latency samples and their summary, the way `facegate bench` reports every stage.

#include <vector>

#include "facegate/core/stopwatch.hpp"

namespace facegate::bench {

// The median, the 95th percentile and the maximum of a set of samples (nearest rank).
struct Summary {
  double p50 = 0.0;
  double p95 = 0.0;
  double max = 0.0;
};

// All zero for no samples.
Summary summarise(std::vector<double> samples);

// stock / ours: how many times faster our path is. 0 when `ours` is not positive.
double ratio(double stock, double ours);

// Runs `body` `warmup` times untimed, then `iterations` times, and returns the milliseconds of
// each timed run.
template <typename Body>
std::vector<double> timed(int warmup, int iterations, Body&& body) {
  for (int i = 0; i < warmup; ++i) {
    body();
  }
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    Stopwatch watch;
    body();
    samples.push_back(watch.elapsedMs());
  }
  return samples;
}

}  // namespace facegate::bench
