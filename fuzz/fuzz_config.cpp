// libFuzzer target: the TOML configuration loader and validator, parseConfig(), on
// arbitrary text. Besides "never crash", it checks the error contract of config.hpp: a
// rejected file gets an InvalidArgument error whose message holds one line per problem,
// each starting with the source name; an accepted one parses the same way twice.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "facegate/config/config.hpp"

namespace {

constexpr std::string_view kSource = "fuzz";

bool wellFormedProblems(std::string_view message) {
  if (message.empty()) {
    return false;
  }
  std::size_t start = 0;
  while (start < message.size()) {
    const std::size_t end = std::min(message.find('\n', start), message.size());
    const std::string_view line = message.substr(start, end - start);
    if (!line.starts_with(kSource) || line.size() <= kSource.size() ||
        line[kSource.size()] != ':') {
      return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = facegate::config::parseConfig(text, kSource);
  if (!config) {
    if (config.error().code != facegate::ErrorCode::InvalidArgument ||
        !wellFormedProblems(config.error().message)) {
      __builtin_trap();
    }
    return 0;
  }
  auto again = facegate::config::parseConfig(text, kSource);
  if (!again || !(*again == *config)) {
    __builtin_trap();
  }
  return 0;
}
