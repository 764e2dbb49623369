#pragma once

// Helpers shared by the facegate commands.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "facegate/core/error.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/store/database.hpp"

namespace facegate::cli {

// Prints "facegate <command>: <message>." on stderr and returns kExitUndecided. The message
// goes through terminalSafe(): it may quote a path, a database or the environment.
int reportError(std::string_view command, std::string_view message);
int reportError(std::string_view command, const Error& error);

// Opens the database file (--db), created if `create` and absent, migrated to the latest
// schema.
Result<store::Database> openDatabase(const std::string& path, bool create);

// Seconds since the epoch (the wall clock: records are dated for people).
std::int64_t unixNow();

// Who is at the enrolment desk, for audit records: "desk:<login>", the login of the real
// uid (getpwuid_r; the uid number when it has no plausible name). When the real uid is 0
// and SUDO_USER names an existing account with a plausible login name (getpwnam_r), the
// administrator who ran sudo is recorded too: "desk:root(sudo:alice)". SUDO_USER is never
// trusted otherwise: any user can set it.
std::string deskActor();

// An OutputFile's error for the command line: when something is already at the path,
// `hint` says what to do (e.g. "give --force to replace it").
std::string outputFileError(const Error& error, std::string_view hint);
inline constexpr std::string_view kBadgeNeverOverwritten =
    "badges are never overwritten: give --badge-out a new file name";
inline constexpr std::string_view kForceReplaces = "give --force to replace it";

// The --plot FILE [--force] options of the evaluation commands, checked before the long run
// (the file itself is still created exclusively when it is written): a path already taken
// without --force is a one-sentence error. (An empty name and --force without --plot are
// refused by the parser.)
struct PlotOutput {
  std::optional<std::string> file;  // no --plot: nothing to write
  Overwrite overwrite = Overwrite::Refuse;
};
Result<PlotOutput> plotOutput(const std::optional<std::string>& file, bool force);

// A badge's payload as a PNG QR code, written into a reserved file (see core/output_file.hpp).
// The PNG bytes, which spell out a sealed badge's secret, are wiped once written.
Result<void> writeBadgePng(std::string_view payload, OutputFile& file);

// 16 hex digits, the way badge serials are shown to people; and back.
std::string formatSerial(std::uint64_t serial);
Result<std::uint64_t> parseSerial(std::string_view text);

std::string formatDate(std::int64_t unixSeconds);  // YYYY-MM-DD (UTC)

}  // namespace facegate::cli
