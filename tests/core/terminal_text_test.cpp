#include "facegate/core/terminal_text.hpp"

#include <gtest/gtest.h>

namespace facegate {
namespace {

TEST(TerminalSafe, PassesPrintableAsciiUnchanged) {
  EXPECT_EQ(terminalSafe("desk:alice enrol kind=plain d=0.412 (A-Z a-z 0-9 . _ -)"),
            "desk:alice enrol kind=plain d=0.412 (A-Z a-z 0-9 . _ -)");
  EXPECT_EQ(terminalSafe(""), "");
}

TEST(TerminalSafe, EscapesEveryByteThatCouldDriveATerminal) {
  // A title change, a screen clear, a forged second line, a C1 control in UTF-8, NUL, DEL.
  const std::string hostile = std::string("\x1b]0;owned\x07\x1b[2J\ndesk:root\r\t") + "\xc2\x9b" +
                              std::string(1, '\0') + "\x7f";
  const std::string safe = terminalSafe(hostile);
  for (const char c : safe) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte < 0x7f) << "byte " << static_cast<int>(byte) << " in " << safe;
  }
  EXPECT_EQ(safe, "\\x1b]0;owned\\x07\\x1b[2J\\x0adesk:root\\x0d\\x09\\xc2\\x9b\\x00\\x7f");
}

TEST(TerminalSafe, DoublesABackslashSoThatEscapesCannotBeForged) {
  EXPECT_EQ(terminalSafe("\\x1b"), "\\\\x1b");
  EXPECT_NE(terminalSafe("\\x1b"), terminalSafe("\x1b"));
}

}  // namespace
}  // namespace facegate
