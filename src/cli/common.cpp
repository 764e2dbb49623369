#include "common.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/core/secure_memory.hpp"

namespace facegate::cli {

int reportError(std::string_view command, std::string_view message) {
  fmt::print(stderr, "facegate {}: {}.\n", command, message);
  return kExitUndecided;
}

int reportError(std::string_view command, const Error& error) {
  return reportError(command, error.message);
}

std::optional<int> parseOrUsage(std::string_view command, std::span<const std::string_view> args,
                                const Arguments::Spec& spec, std::string_view usage,
                                Arguments& out) {
  Arguments::Spec withHelp = spec;
  withHelp.flags.push_back("--help");
  auto parsed = Arguments::parse(args, withHelp);
  if (!parsed) {
    reportError(command, parsed.error());
    fmt::print(stderr, "{}", usage);
    return kExitUndecided;
  }
  if (parsed->has("--help")) {
    fmt::print("{}", usage);
    return kExitOk;
  }
  out = std::move(*parsed);
  return std::nullopt;
}

Result<std::string> required(const Arguments& args, std::string_view option) {
  if (auto v = args.value(option)) {
    if (v->empty()) {
      return fail(ErrorCode::InvalidArgument, fmt::format("{} must not be empty", option));
    }
    return *v;
  }
  return fail(ErrorCode::InvalidArgument, fmt::format("{} is required", option));
}

Result<store::Database> openDatabase(const Arguments& args, bool create) {
  auto path = required(args, "--db");
  if (!path) {
    return tl::unexpected(path.error());
  }
  store::Database::Options options;
  options.create = create;
  return store::Database::open(*path, options);
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string deskActor() {
  std::string who;
  if (const char* sudoUser = std::getenv("SUDO_USER"); sudoUser != nullptr && *sudoUser != '\0') {
    who = sudoUser;
  } else if (const passwd* pw = getpwuid(getuid()); pw != nullptr) {
    who = pw->pw_name;
  } else {
    who = std::to_string(getuid());
  }
  return "desk:" + who.substr(0, 32);
}

std::string outputFileError(const Error& error, std::string_view hint) {
  if (error.code == ErrorCode::AlreadyExists) {
    return fmt::format("{} ({})", error.message, hint);
  }
  return error.message;
}

Result<void> writeBadgePng(std::string_view payload, OutputFile& file) {
  auto png = badge::encodeQrPng(payload);
  if (!png) {
    return tl::unexpected(png.error());
  }
  auto written = file.write(*png);
  secureWipe(png->data(), png->size());
  return written;
}

std::string formatSerial(std::uint64_t serial) {
  return fmt::format("{:016x}", serial);
}

Result<std::uint64_t> parseSerial(std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 16);
  if (text.size() != 16 || ec != std::errc() || ptr != end) {
    return fail(
        ErrorCode::InvalidArgument,
        fmt::format("'{}' is not a badge serial (16 hex digits, as `facegate list` shows)", text));
  }
  return value;
}

std::string formatDate(std::int64_t unixSeconds) {
  const std::time_t t = unixSeconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace facegate::cli
