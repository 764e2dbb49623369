#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "facegate/core/secure_memory.hpp"

namespace facegate::face {

inline constexpr std::size_t kEmbeddingSize = 128;

// A 128-D face embedding from dlib's ResNet (unit-free, roughly unit length). This is
// biometric data: it lives in sodium_malloc'd memory (locked, not in core dumps, zeroed on
// destruction) and is never printed or logged. Move-only; copy() makes an explicit duplicate.
class Embedding {
 public:
  Embedding() = default;  // all zeros
  Embedding(Embedding&&) noexcept = default;
  Embedding& operator=(Embedding&&) noexcept = default;
  Embedding(const Embedding&) = delete;
  Embedding& operator=(const Embedding&) = delete;

  std::span<float, kEmbeddingSize> values() noexcept { return *data_; }
  std::span<const float, kEmbeddingSize> values() const noexcept { return *data_; }

  Embedding copy() const;

 private:
  SecureBox<std::array<float, kEmbeddingSize>> data_;
};

// Euclidean distance, the measure dlib's network was trained for (same person < ~0.6).
double distance(const Embedding& a, const Embedding& b) noexcept;

}  // namespace facegate::face
