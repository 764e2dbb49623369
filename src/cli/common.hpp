#pragma once

// Helpers shared by the facegate commands.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "arguments.hpp"
#include "facegate/core/error.hpp"
#include "facegate/store/database.hpp"

namespace facegate::cli {

// Prints "facegate <command>: <message>." on stderr and returns kExitUndecided.
int reportError(std::string_view command, std::string_view message);
int reportError(std::string_view command, const Error& error);

// Parses args against spec; on error or --help prints usage and returns the exit code to use.
std::optional<int> parseOrUsage(std::string_view command, std::span<const std::string_view> args,
                                const Arguments::Spec& spec, std::string_view usage,
                                Arguments& out);

// The value of a required option, or an error naming it.
Result<std::string> required(const Arguments& args, std::string_view option);

// Opens (creating if needed) the database named by --db, migrated to the latest schema.
Result<store::Database> openDatabase(const Arguments& args, bool create);

// Seconds since the epoch (the wall clock: records are dated for people).
std::int64_t unixNow();

// Who is at the enrolment desk, for audit records: "desk:<login name>".
std::string deskActor();

// 16 hex digits, the way badge serials are shown to people; and back.
std::string formatSerial(std::uint64_t serial);
Result<std::uint64_t> parseSerial(std::string_view text);

std::string formatDate(std::int64_t unixSeconds);  // YYYY-MM-DD (UTC)

}  // namespace facegate::cli
