#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/core/error.hpp"

namespace facegate::cli {

// A strict little argument reader: every option must be declared; unknown options, missing
// values and stray positionals are errors with a sentence naming them.
class Arguments {
 public:
  struct Spec {
    std::vector<std::string_view> flags;       // e.g. "--json"
    std::vector<std::string_view> valued;      // e.g. "--threshold" (takes one value)
    std::vector<std::string_view> repeatable;  // valued options that may repeat
    std::size_t minPositional = 0;
    std::size_t maxPositional = 0;
  };

  static Result<Arguments> parse(std::span<const std::string_view> args, const Spec& spec);

  bool has(std::string_view flag) const;
  std::optional<std::string> value(std::string_view option) const;
  std::vector<std::string> values(std::string_view option) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> positional_;
};

// Parses a decimal number in (min, max]; the error names the option and the value.
Result<double> parseNumber(std::string_view option, std::string_view text, double min, double max);

// Parses a whole number in [min, max]; the error names the option, the value and the range.
Result<std::int64_t> parseWholeNumber(std::string_view option, std::string_view text,
                                      std::int64_t min, std::int64_t max);

}  // namespace facegate::cli
