#include "facegate/face/embedding.hpp"

#include <algorithm>
#include <cmath>

namespace facegate::face {

Embedding Embedding::copy() const {
  Embedding out;
  std::copy(values().begin(), values().end(), out.values().begin());
  return out;
}

double distance(const Embedding& a, const Embedding& b) noexcept {
  double sum = 0.0;
  const auto x = a.values();
  const auto y = b.values();
  for (std::size_t i = 0; i < kEmbeddingSize; ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    sum += d * d;
  }
  return std::sqrt(sum);
}

}  // namespace facegate::face
