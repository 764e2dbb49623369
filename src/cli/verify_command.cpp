// facegate verify A B: are the faces in two photos the same person?
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/core/stopwatch.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/match.hpp"
#include "facegate/face/models.hpp"

namespace facegate::cli {
namespace {

struct VerifyOptions {
  std::vector<std::string> photos;  // two, checked by runVerify
  double threshold = face::kDefaultMatchThreshold;
  bool json = false;
  std::optional<std::filesystem::path> modelDir;
};

int undecided(std::string_view why) {
  fmt::print(stderr, "facegate verify: cannot decide: {}.\n", why);
  return kExitUndecided;
}

struct Side {
  std::string file;
  face::FaceDescription description;
  double loadMs = 0.0;
};

Result<Side> describeFile(face::FaceEngine& engine, const std::string& file) {
  Stopwatch watch;
  auto image = face::loadImage(file);
  if (!image) {
    return tl::unexpected(image.error());
  }
  const double loadMs = watch.elapsedMs();
  auto description = engine.describeLargest(*image);
  if (!description) {
    if (description.error().code == ErrorCode::NoFace) {
      return fail(ErrorCode::NoFace, fmt::format("no face was found in {}", file));
    }
    return tl::unexpected(description.error());
  }
  return Side{file, std::move(*description), loadMs};
}

nlohmann::ordered_json jsonTimings(const face::StageTimings& ms) {
  return {{"detect", ms.detectMs}, {"align", ms.alignMs}, {"embed", ms.embedMs}};
}

int runVerify(const VerifyOptions& options) {
  if (options.photos.size() != 2) {
    fmt::print(stderr, "facegate verify: expected two image files, got {}.\n",
               options.photos.size());
    return kExitUndecided;
  }
  const double threshold = options.threshold;
  const std::optional<std::filesystem::path>& modelFlag = options.modelDir;

  Stopwatch loadWatch;
  auto modelDir = face::findModelDir(modelFlag);
  if (!modelDir) {
    return undecided(modelDir.error().message);
  }
  auto engine = face::FaceEngine::load(*modelDir);
  if (!engine) {
    return undecided(engine.error().message);
  }
  const double modelLoadMs = loadWatch.elapsedMs();

  auto a = describeFile(**engine, options.photos[0]);
  if (!a) {
    return undecided(a.error().message);
  }
  auto b = describeFile(**engine, options.photos[1]);
  if (!b) {
    return undecided(b.error().message);
  }
  const double dist = face::distance(a->description.embedding, b->description.embedding);
  const bool match = face::isMatch(dist, threshold);

  if (options.json) {
    face::StageTimings total = a->description.ms;
    total += b->description.ms;
    const nlohmann::ordered_json out = {
        {"match", match},
        {"distance", dist},
        {"threshold", threshold},
        {"faces", {a->description.faceCount, b->description.faceCount}},
        {"ms", jsonTimings(total)},
        {"ms_each", {jsonTimings(a->description.ms), jsonTimings(b->description.ms)}},
        {"ms_decode", {a->loadMs, b->loadMs}},
        {"ms_model_load", modelLoadMs},
        {"files", {a->file, b->file}},
    };
    fmt::print("{}\n", out.dump());
  } else {
    for (const Side* side : {&*a, &*b}) {
      if (side->description.faceCount > 1) {
        fmt::print("note: {} holds {} faces; the largest was used\n", side->file,
                   side->description.faceCount);
      }
    }
    fmt::print("{}: distance {:.4f} {} threshold {:.2f}\n",
               match ? "same person" : "different people", dist, match ? "<=" : ">", threshold);
  }
  return match ? kExitOk : kExitNegative;
}

}  // namespace

void addVerify(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App& command =
      addCommand(app, "verify", "are the faces in two photos the same person?",
                 "Exit 0: same person; 1: different people; 2: could not decide (reason on "
                 "stderr).");
  command.add_option("photos", options->photos, "the two photos (PNG, JPEG or BMP)")
      ->option_text("A.jpg B.jpg");
  checkNumber(command
                  .add_option("--threshold", options->threshold,
                              "match when the embedding distance is at most T")
                  ->type_name("T"),
              face::kMinThreshold, face::kMaxThreshold);
  command.add_flag("--json", options->json, "print one JSON object on stdout");
  command
      .add_option("--models", options->modelDir,
                  "directory holding the dlib models (default: installed, then models/)")
      ->type_name("DIR");
  commands.push_back({&command, [options] { return runVerify(*options); }});
}

}  // namespace facegate::cli
