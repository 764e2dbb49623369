#include "facegate/audit/badge_ref.hpp"

#include <algorithm>

#include <sodium.h>

#include "facegate/core/secure_memory.hpp"

namespace facegate::audit {

std::uint64_t badgeRef(std::span<const std::uint8_t, 32> key, std::uint64_t serial) {
  ensureSodium();
  static constexpr char kDomain[] = "facegate-badge-ref-v1";
  std::array<std::uint8_t, sizeof(kDomain) - 1 + 8> message{};
  std::copy(kDomain, kDomain + sizeof(kDomain) - 1, message.begin());
  for (int i = 0; i < 8; ++i) {
    message[sizeof(kDomain) - 1 + static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(serial >> (56 - 8 * i));
  }
  std::array<std::uint8_t, crypto_generichash_BYTES_MIN> out{};  // 16: libsodium's least
  crypto_generichash(out.data(), out.size(), message.data(), message.size(), key.data(),
                     key.size());
  std::uint64_t ref = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    ref = (ref << 8) | out[i];
  }
  return ref;
}

}  // namespace facegate::audit
