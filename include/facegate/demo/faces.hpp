#pragma once

#include <filesystem>

#include "facegate/core/error.hpp"

namespace facegate::demo {

// Where the demo's photos are: $FACEGATE_DEMO_FACES, the installed data directory, or the
// source tree's tests/data/faces.
Result<std::filesystem::path> findDemoFaces();

}  // namespace facegate::demo
