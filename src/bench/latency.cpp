#include "facegate/bench/latency.hpp"

#include <algorithm>
#include <cmath>

namespace facegate::bench {

Summary summarise(std::vector<double> samples) {
  if (samples.empty()) {
    return {};
  }
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double p) {
    const auto i =
        static_cast<std::size_t>(std::llround(p * static_cast<double>(samples.size() - 1)));
    return samples[std::min(i, samples.size() - 1)];
  };
  return {at(0.50), at(0.95), samples.back()};
}

double ratio(double stock, double ours) {
  return ours > 0.0 ? stock / ours : 0.0;
}

}  // namespace facegate::bench
