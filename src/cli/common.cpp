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
#include "facegate/core/terminal_text.hpp"

namespace facegate::cli {

int reportError(std::string_view command, std::string_view message) {
  fmt::print(stderr, "facegate {}: {}.\n", command, terminalSafe(message));
  return kExitUndecided;
}

int reportError(std::string_view command, const Error& error) {
  return reportError(command, error.message);
}

Result<store::Database> openDatabase(const std::string& path, bool create) {
  store::Database::Options options;
  options.create = create;
  return store::Database::open(path, options);
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// A login name as useradd accepts it by default, at most 32 characters: anything else in
// SUDO_USER or the password database is not recorded as a name.
bool isPlausibleLogin(std::string_view name) {
  if (name.empty() || name.size() > 32) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool other = (c >= '0' && c <= '9') || c == '-' || c == '.';
    const bool lastDollar = c == '$' && i == name.size() - 1 && i > 0;
    if (!(letter || (i > 0 && other) || lastDollar)) {
      return false;
    }
  }
  return true;
}

std::vector<char> passwdBuffer() {
  const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  return std::vector<char>(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
}

std::optional<std::string> loginOf(uid_t uid) {
  auto buffer = passwdBuffer();
  for (;;) {
    passwd entry{};
    passwd* found = nullptr;
    const int rc = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1U << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr || !isPlausibleLogin(found->pw_name)) {
      return std::nullopt;
    }
    return std::string(found->pw_name);
  }
}

bool accountExists(const std::string& name) {
  auto buffer = passwdBuffer();
  for (;;) {
    passwd entry{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1U << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    return rc == 0 && found != nullptr;
  }
}

}  // namespace

std::string deskActor() {
  const uid_t uid = ::getuid();  // the real uid: who ran the command, not the file's owner
  std::string who = loginOf(uid).value_or(std::to_string(uid));
  // sudo sets SUDO_USER for root's benefit; anybody else could set it to anything.
  if (const char* sudoUser = std::getenv("SUDO_USER"); uid == 0 && sudoUser != nullptr) {
    const std::string name(sudoUser);
    if (isPlausibleLogin(name) && accountExists(name)) {
      who += "(sudo:" + name + ")";
    }
  }
  return "desk:" + who;
}

Result<PlotOutput> plotOutput(const std::optional<std::string>& file, bool force) {
  PlotOutput out;
  out.file = file;
  out.overwrite = force ? Overwrite::Replace : Overwrite::Refuse;
  if (out.file) {
    if (auto free = checkCanCreate(*out.file, out.overwrite); !free) {
      return fail(free.error().code, outputFileError(free.error(), kForceReplaces));
    }
  }
  return out;
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
