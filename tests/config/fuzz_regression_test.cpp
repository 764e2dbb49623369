// Inputs found by fuzz/fuzz_config (see fuzz/README.md), kept as regression tests.

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "facegate/config/config.hpp"

namespace facegate::config {
namespace {

// fuzz_config, 2026-12-01: toml++ quotes the offending input of a syntax error verbatim
// ("expected 'true', saw 'tr\n'"), so the error message of this file held a raw newline: a
// second "problem line" that did not start with the file name, and the raw bytes of the
// file in the journal. The crashing input, as found:
constexpr std::string_view kBrokenBoolean =
    "[camera]\nsource = \"rtsp://user:pass@0gpio92.0.2.1threshvideo2\"\nwidth = 12\n"
    "ack_button_line = 22\nactive_low = tr\neg[u\npio.patterns]\ngranted = [50, 50, 50]\n\n"
    "[sto-rageaudit]\ntneertion_days = 1_000\n";

TEST(ConfigFuzzRegression, SyntaxErrorQuotingANewlineStaysOnOneLine) {
  auto config = parseConfig(kBrokenBoolean, "gate.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::InvalidArgument);
  const std::string& message = config.error().message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_TRUE(message.starts_with("gate.toml:5:16: invalid TOML: ")) << message;
  EXPECT_NE(message.find("\\n"), std::string::npos) << message;  // shown escaped
}

TEST(ConfigFuzzRegression, SyntaxErrorControlCharactersAreEscaped) {
  auto config = parseConfig("[gate]\nid = tr\x01\x1b[2J\n", "gate.toml");
  ASSERT_FALSE(config);
  const std::string& message = config.error().message;
  for (const char c : message) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == '\x7f')
        << "control character " << static_cast<int>(c) << " in: " << message;
  }
}

}  // namespace
}  // namespace facegate::config
