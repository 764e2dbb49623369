// facegate verify A B: are the faces in two photos the same person?
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "arguments.hpp"
#include "commands.hpp"
#include "facegate/core/stopwatch.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/match.hpp"
#include "facegate/face/models.hpp"

namespace facegate::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: facegate verify A.jpg B.jpg [--threshold T] [--json] [--models DIR]\n"
    "  Exit 0: same person; 1: different people; 2: could not decide (reason on stderr).\n"
    "  --threshold T  match when the embedding distance is at most T (default {:.2f})\n"
    "  --json         print one JSON object on stdout\n"
    "  --models DIR   directory holding the dlib models (default: installed, then models/)\n";

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

}  // namespace

int runVerify(std::span<const std::string_view> args) {
  const Arguments::Spec spec{.flags = {"--json", "--help"},
                             .valued = {"--threshold", "--models"},
                             .repeatable = {},
                             .minPositional = 0,
                             .maxPositional = 2};
  auto parsed = Arguments::parse(args, spec);
  if (!parsed) {
    fmt::print(stderr, "facegate verify: {}.\n", parsed.error().message);
    fmt::print(stderr, fmt::runtime(kUsage), face::kDefaultMatchThreshold);
    return kExitUndecided;
  }
  if (parsed->has("--help")) {
    fmt::print(fmt::runtime(kUsage), face::kDefaultMatchThreshold);
    return kExitOk;
  }
  if (parsed->positional().size() != 2) {
    fmt::print(stderr, "facegate verify: expected two image files, got {}.\n",
               parsed->positional().size());
    fmt::print(stderr, fmt::runtime(kUsage), face::kDefaultMatchThreshold);
    return kExitUndecided;
  }
  double threshold = face::kDefaultMatchThreshold;
  if (const auto text = parsed->value("--threshold")) {
    auto value = parseNumber("--threshold", *text, face::kMinThreshold, face::kMaxThreshold);
    if (!value) {
      return undecided(value.error().message);
    }
    threshold = *value;
  }
  std::optional<std::filesystem::path> modelFlag;
  if (const auto dir = parsed->value("--models")) {
    modelFlag = *dir;
  }

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

  auto a = describeFile(**engine, parsed->positional()[0]);
  if (!a) {
    return undecided(a.error().message);
  }
  auto b = describeFile(**engine, parsed->positional()[1]);
  if (!b) {
    return undecided(b.error().message);
  }
  const double dist = face::distance(a->description.embedding, b->description.embedding);
  const bool match = face::isMatch(dist, threshold);

  if (parsed->has("--json")) {
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

}  // namespace facegate::cli
