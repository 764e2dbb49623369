#pragma once

// What the crash harness and its worker share: the pupils the worker may touch, the synthetic
// template it enrols, the passage records it appends, and the acknowledgement lines it sends.
//
// The worker writes one line per message with a single write(2) to a pipe; every line is far
// below PIPE_BUF, so the kernel delivers it whole or not at all, even when the worker is
// killed in the middle of the call. Lines (tokens separated by one space, serials as 16 hex
// digits, the head as the audit log's head sequence number after the operation committed):
//
//   ready <head>                           database open, nothing written yet
//   begin enrol <pupil>                    an operation starts (the harness counts a kill
//   begin plain <pupil>                    between begin and its acknowledgement as a kill
//   begin revoke <pupil> <serial>          during a write)
//   begin erase <pupil>
//   begin passage <op-id> <serial>
//   begin checkpoint <mode>
//   enrol <pupil> <serial> <ref> <secret> <head>
//                                          committed: sealed enrolment, secret as 64 hex
//   plain <pupil> <serial> <ref> <head>    committed: plain badge issued
//   revoke <pupil> <serial> <ref> <head>   committed: badge revoked
// (<ref>: the badge's name in the audit log, audit/badge_ref.hpp, 16 hex digits.)
//   erase <pupil> <head>                   committed: pupil erased
//   audit <seq> <op-id> <serial>           committed: passage record appended at <seq>
//   checkpoint <mode> <busy> <log> <done>  PRAGMA wal_checkpoint(<mode>) returned
//
// The secret travels over the pipe because this is synthetic test data that the harness
// needs to prove the sealed template still opens; it is never printed or logged.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/audit/audit_log.hpp"
#include "facegate/face/embedding.hpp"

namespace facegate::crash {

// The worker only ever touches these pupils: crash-000 .. crash-047. A bounded pool keeps
// the registry small while enrolments, re-enrolments and erasures keep cycling through it.
inline constexpr int kPupilPoolSize = 48;
std::string pupilId(int index);
std::optional<int> pupilIndex(std::string_view id);

// Who the worker's records name as actor: the enrolment desk and the gate.
inline constexpr std::string_view kDeskActor = "desk:crash-worker";
inline constexpr std::string_view kGateActor = "gate-crash";

// The template enrolled for pool pupil `index`: a fixed, synthetic vector in the range of
// dlib's components, NOT anybody's face embedding. The face engine is not under test here
// (its models take seconds to load and ~30 ms per photo, which would leave a worker only a
// handful of operations before each kill); what matters is that a sealed template written
// before a crash still opens with its badge secret, byte for byte, after recovery. Each pupil
// has a different vector, so a template attached to the wrong pupil would not compare equal.
face::Embedding syntheticTemplate(int index);
bool sameTemplate(const face::Embedding& a, const face::Embedding& b);

// The gate-style passage record for operation `opId` showing badge `serial`: every field is
// a function of (opId, serial), so the harness rebuilds the exact event from the
// acknowledgement and checks the stored record's hash against it.
audit::AuditEvent passageEvent(std::uint64_t opId, std::uint64_t serial);

std::string hex64(std::uint64_t value);  // 16 lower-case hex digits
std::optional<std::uint64_t> parseHex64(std::string_view text);
std::optional<std::int64_t> parseInt(std::string_view text);

// A line split on single spaces.
std::vector<std::string_view> tokens(std::string_view line);

}  // namespace facegate::crash
