#pragma once

// The photographs an evaluation runs over, their embeddings, and the pairs it scores.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "facegate/core/error.hpp"
#include "facegate/face/embedding.hpp"
#include "facegate/face/engine.hpp"

namespace facegate::eval {

struct LabelledImage {
  std::filesystem::path file;  // DIR/person/file, as scanned
  int person = 0;              // index into PhotoSet::persons
};

// DIR with one sub-folder per person (the layout of tests/data/faces and LFW). Folders whose
// name starts with '_' are not identities and are skipped, as are hidden entries and files
// that are not .jpg/.jpeg/.png/.bmp. Persons and images are in name order.
struct PhotoSet {
  std::vector<std::string> persons;  // only folders holding at least one image
  std::vector<LabelledImage> images;
};

// FileNotFound when dir does not exist or is not a folder; InvalidArgument when it holds no
// person folder with an image.
Result<PhotoSet> scanPhotoSet(const std::filesystem::path& dir);

// The embedding of one image, or why there is none (not decodable, too small, no face).
struct ImageEmbedding {
  std::optional<face::Embedding> embedding;
  std::string problem;
};

struct EmbedProgress {
  std::size_t done = 0;
  std::size_t total = 0;
  double elapsedSeconds = 0.0;
};

// Which face of a benchmark photo is described when it holds several.
enum class FaceChoice {
  Largest,        // the gate's rule (and the enrolment desk's: one face only)
  NearestCentre,  // LFW's convention: the person named is the one in the middle
};
std::string_view toString(FaceChoice choice) noexcept;

// How a photo becomes an embedding.
enum class Recipe {
  Facegate,  // FaceEngine::detect + describe, with EmbedOptions::engine
  Stock,     // FaceEngine::describeStock: dlib's example recipe, the baseline (largest face)
};
std::string_view toString(Recipe recipe) noexcept;

// The score threshold of the detector's retry on a benchmark photo in which the normal
// passes find no face (face::EngineOptions::retryScoreThreshold): every such photo holds a
// face, and a miss counts as an error. Chosen on lfw-dev's pair images (README).
inline constexpr double kPhotoRetryScoreThreshold = -0.3;

struct EmbedOptions {
  face::EngineOptions engine;  // the gate's defaults unless told otherwise
  FaceChoice choice = FaceChoice::Largest;
  Recipe recipe = Recipe::Facegate;
  int threads = 2;  // one FaceEngine (~100 MB) per thread: the engine is not thread-safe
  std::chrono::milliseconds progressEvery{2000};
  // Called on the calling thread every progressEvery while images remain; may be empty.
  std::function<void(const EmbedProgress&)> onProgress;
};

// The face of `faces` (non-empty) that `choice` picks in a frame of `frameSize`.
std::size_t chooseFace(const std::vector<face::FaceBox>& faces, cv::Size frameSize,
                       FaceChoice choice);

// Embeds every file once (options.recipe, options.choice), on options.threads threads pulling
// image indices from one queue. A file without a usable face is a value in the result, not
// an error. Errors: the models' (ModelMissing, ModelCorrupt).
Result<std::vector<ImageEmbedding>> embedImages(const std::vector<std::filesystem::path>& files,
                                                const std::filesystem::path& modelDir,
                                                const EmbedOptions& options);

// Which pairs of images to score, as indices into the labels given to selectPairs.
struct PairSelection {
  std::vector<std::pair<std::size_t, std::size_t>> genuine;   // every same-person pair
  std::vector<std::pair<std::size_t, std::size_t>> impostor;  // all, or a sample
  std::uint64_t impostorPossible = 0;                         // how many impostor pairs exist
  bool impostorSampled = false;
};

// `person[i]` labels image i. Every genuine pair (i < j); every impostor pair when there are at
// most maxImpostors of them, else maxImpostors distinct ones drawn uniformly with
// std::mt19937_64 seeded with `seed` (the same seed gives the same sample).
PairSelection selectPairs(const std::vector<int>& person, std::uint64_t maxImpostors,
                          std::uint64_t seed);

}  // namespace facegate::eval
