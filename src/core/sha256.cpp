#include "facegate/core/sha256.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <sodium.h>

#include "facegate/core/secure_memory.hpp"

namespace facegate {

Result<std::string> sha256File(const std::filesystem::path& path) {
  ensureSodium();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(ErrorCode::FileNotFound, fmt::format("{} does not exist", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    const auto got = in.gcount();
    if (got > 0) {
      crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                                static_cast<unsigned long long>(got));
    }
  }
  if (in.bad()) {
    return fail(ErrorCode::FileUnreadable, fmt::format("I/O error reading {}", path.string()));
  }
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data());
}

}  // namespace facegate
