#include "arguments.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace facegate::cli {
namespace {

bool contains(const std::vector<std::string_view>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

Result<Arguments> Arguments::parse(std::span<const std::string_view> args, const Spec& spec) {
  Arguments out;
  bool onlyPositional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!onlyPositional && arg == "--") {
      onlyPositional = true;
      continue;
    }
    if (onlyPositional || !arg.starts_with("--")) {
      out.positional_.emplace_back(arg);
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> inlineValue;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inlineValue = arg.substr(eq + 1);
    }
    if (contains(spec.flags, name)) {
      if (inlineValue) {
        return fail(ErrorCode::InvalidArgument, fmt::format("{} takes no value", name));
      }
      out.options_.emplace_back(name, "");
    } else if (contains(spec.valued, name) || contains(spec.repeatable, name)) {
      std::string_view value;
      if (inlineValue) {
        value = *inlineValue;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail(ErrorCode::InvalidArgument, fmt::format("{} needs a value", name));
      }
      if (!contains(spec.repeatable, name) && out.value(name)) {
        return fail(ErrorCode::InvalidArgument, fmt::format("{} is given twice", name));
      }
      out.options_.emplace_back(name, value);
    } else {
      return fail(ErrorCode::InvalidArgument, fmt::format("unknown option {}", name));
    }
  }
  if (out.positional_.size() < spec.minPositional || out.positional_.size() > spec.maxPositional) {
    return fail(ErrorCode::InvalidArgument,
                spec.minPositional == spec.maxPositional
                    ? fmt::format("expected {} file arguments, got {}", spec.minPositional,
                                  out.positional_.size())
                    : fmt::format("expected {} to {} arguments, got {}", spec.minPositional,
                                  spec.maxPositional, out.positional_.size()));
  }
  return out;
}

bool Arguments::has(std::string_view flag) const {
  return std::any_of(options_.begin(), options_.end(),
                     [&](const auto& option) { return option.first == flag; });
}

std::optional<std::string> Arguments::value(std::string_view option) const {
  for (const auto& [name, value] : options_) {
    if (name == option) {
      return value;
    }
  }
  return std::nullopt;
}

std::vector<std::string> Arguments::values(std::string_view option) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : options_) {
    if (name == option) {
      out.push_back(value);
    }
  }
  return out;
}

Result<double> parseNumber(std::string_view option, std::string_view text, double min, double max) {
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno != 0 || !std::isfinite(value) ||
      value <= min || value > max) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} expects a number greater than {} and at most {}, got '{}'", option,
                            min, max, text));
  }
  return value;
}

Result<std::int64_t> parseWholeNumber(std::string_view option, std::string_view text,
                                      std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return fail(
        ErrorCode::InvalidArgument,
        fmt::format("{} expects a whole number from {} to {}, got '{}'", option, min, max, text));
  }
  return value;
}

}  // namespace facegate::cli
