#pragma once

#include <string>
#include <string_view>

namespace facegate {

// Text that came from outside the program — a database record, a badge, the environment —
// made safe to print on a terminal: printable ASCII (0x20 to 0x7e) passes unchanged, a
// backslash is doubled, and every other byte (control characters, newlines, DEL, and each
// byte of a non-ASCII character) is written as \xNN. Printed text can then never move the
// cursor, retitle the window or fake another line of output, and the escaping can be read
// back unambiguously.
std::string terminalSafe(std::string_view text);

}  // namespace facegate
