#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace facegate {

// Initialises libsodium once per process (thread-safe). Throws std::runtime_error if the
// library cannot initialise, which only happens on a broken system.
void ensureSodium();

// One T in memory from sodium_malloc: guard pages around it, mlock'ed where the limit
// allows (so it is not swapped out), excluded from core dumps by MADV_DONTDUMP, and zeroed
// by sodium_free when the box is destroyed. Embeddings and badge secrets live in these.
// T must be trivially copyable (its bytes are the secret) and is value-initialised.
// Move-only; a moved-from box is empty and get() returns nullptr.
template <typename T>
class SecureBox {
  static_assert(std::is_trivially_copyable_v<T>, "SecureBox holds raw bytes");

 public:
  SecureBox() : ptr_(allocate()) {}

  T& operator*() noexcept { return *ptr_; }
  const T& operator*() const noexcept { return *ptr_; }
  T* operator->() noexcept { return ptr_.get(); }
  const T* operator->() const noexcept { return ptr_.get(); }
  T* get() noexcept { return ptr_.get(); }
  const T* get() const noexcept { return ptr_.get(); }

 private:
  struct Free {
    void operator()(T* p) const noexcept;
  };
  static T* allocate();
  std::unique_ptr<T, Free> ptr_;
};

namespace detail {
void* secureAllocate(std::size_t size);  // throws std::bad_alloc
void secureFree(void* p) noexcept;       // zeroes, unlocks and unmaps
}  // namespace detail

template <typename T>
T* SecureBox<T>::allocate() {
  void* raw = detail::secureAllocate(sizeof(T));
  return new (raw) T{};
}

template <typename T>
void SecureBox<T>::Free::operator()(T* p) const noexcept {
  detail::secureFree(p);
}

// Zeroes a buffer in a way the compiler may not optimise away.
void secureWipe(void* data, std::size_t size) noexcept;

}  // namespace facegate
