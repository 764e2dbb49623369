#include "protocol.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace facegate::crash {
namespace {

// SplitMix64: a fixed, well-mixed function of its input (the fields of a passage record).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

constexpr std::string_view kPupilPrefix = "crash-";
constexpr std::int64_t kPassageEpoch = 1'780'000'000;  // 2026-05-28, then one second per op

}  // namespace

std::string pupilId(int index) {
  return fmt::format("{}{:03}", kPupilPrefix, index);
}

std::optional<int> pupilIndex(std::string_view id) {
  if (!id.starts_with(kPupilPrefix) || id.size() != kPupilPrefix.size() + 3) {
    return std::nullopt;
  }
  const auto index = parseInt(id.substr(kPupilPrefix.size()));
  if (!index || *index < 0 || *index >= kPupilPoolSize) {
    return std::nullopt;
  }
  return static_cast<int>(*index);
}

face::Embedding syntheticTemplate(int index) {
  face::Embedding e;
  auto values = e.values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    // Multiples of 1/256 in [-0.125, 0.121]: exactly representable, distinct per pupil.
    const auto step = static_cast<int>((i * 37 + static_cast<std::size_t>(index) * 11) % 64) - 32;
    values[i] = static_cast<float>(step) / 256.0F;
  }
  return e;
}

bool sameTemplate(const face::Embedding& a, const face::Embedding& b) {
  return std::ranges::equal(a.values(), b.values());  // exact: the same floats, not close ones
}

audit::AuditEvent passageEvent(std::uint64_t opId, std::uint64_t serial) {
  static constexpr std::string_view kOutcomes[] = {"GRANTED",      "GRANTED",       "GRANTED",
                                                   "MISMATCH",     "TIMEOUT",       "REJECT_BADGE",
                                                   "MANUAL_CHECK", "OUT_OF_SERVICE"};
  const std::uint64_t h = mix(opId ^ mix(serial));
  audit::AuditEvent e;
  e.at = kPassageEpoch + static_cast<std::int64_t>(opId & 0xffffffU);
  e.actor = std::string(kGateActor);
  e.action = "passage";
  e.badgeRef = serial;
  const std::string_view outcome = kOutcomes[h % std::size(kOutcomes)];
  e.outcome = std::string(outcome);
  if (outcome == "GRANTED" || outcome == "MISMATCH") {
    e.distance = static_cast<double>((h >> 8U) % 1000U) / 1000.0;
  }
  e.detail = fmt::format("frames={} latency_ms={} similar_faces={}", 1 + (h >> 20U) % 5,
                         20 + (h >> 24U) % 400, (h >> 40U) % 2);
  return e;
}

std::string hex64(std::uint64_t value) {
  return fmt::format("{:016x}", value);
}

std::optional<std::uint64_t> parseHex64(std::string_view text) {
  std::uint64_t value = 0;
  if (text.size() != 16) {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const auto space = line.find(' ');
    out.push_back(line.substr(0, space));
    if (space == std::string_view::npos) {
      break;
    }
    line.remove_prefix(space + 1);
  }
  return out;
}

}  // namespace facegate::crash
