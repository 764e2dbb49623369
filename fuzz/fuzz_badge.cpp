// libFuzzer target: the badge payload parser and what a gate does next with a parsed badge.
//
// Input: one mode byte, then the data.
//   'T' (or any even byte): the data is the badge text as a QR code would carry it;
//   'S' (or any odd byte): the data is a binary payload without its signature; it is
//     signed with the test school's key and base45-encoded first, so that the checks that
//     run after the signature (fields, validity, template opening) are reachable too.
// See fuzz_support.hpp for the invariants checked.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

// Longest binary payload worth signing: a little more than the longest valid badge, so
// that "oversized" is still reached.
constexpr std::size_t kMaxUnsignedPayload = 23 + 32 + 168 + 16;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  facegate::fuzz::testSchool();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  if ((data[0] & 1U) == 0) {
    facegate::fuzz::exerciseBadgeText(
        std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
    return 0;
  }
  if (rest.size() > kMaxUnsignedPayload) {
    return 0;
  }
  facegate::fuzz::exerciseBadgeText(facegate::fuzz::signAndEncode(rest));
  return 0;
}
