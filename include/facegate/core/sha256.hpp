#pragma once

#include <filesystem>
#include <string>

#include "facegate/core/error.hpp"

namespace facegate {

// SHA-256 of a whole file, as 64 lowercase hex digits. Streams the file (constant memory).
Result<std::string> sha256File(const std::filesystem::path& path);

}  // namespace facegate
