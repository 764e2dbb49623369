#include "facegate/core/secure_memory.hpp"

#include <mutex>
#include <stdexcept>

#include <sodium.h>

namespace facegate {

void ensureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      throw std::runtime_error("libsodium failed to initialise");
    }
  });
}

namespace detail {

// sodium_malloc places the block between guard pages and calls sodium_mlock on it, which
// both mlock()s the pages and marks them MADV_DONTDUMP.
void* secureAllocate(std::size_t size) {
  ensureSodium();
  void* p = sodium_malloc(size);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}

void secureFree(void* p) noexcept {
  sodium_free(p);  // zeroes and unlocks before unmapping; accepts nullptr
}

}  // namespace detail

void secureWipe(void* data, std::size_t size) noexcept {
  sodium_memzero(data, size);
}

}  // namespace facegate
