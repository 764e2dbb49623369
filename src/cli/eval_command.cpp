// facegate eval DIR: how well does the face pipeline tell these people apart?
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/stopwatch.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/eval/det_plot.hpp"
#include "facegate/eval/metrics.hpp"
#include "facegate/eval/pairs.hpp"
#include "facegate/eval/photo_set.hpp"
#include "facegate/face/match.hpp"
#include "facegate/face/models.hpp"

namespace facegate::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDefaultMaxImpostors = 100'000;
constexpr double kReportedFmrs[] = {1e-2, 1e-3, 1e-4};

int badInput(std::string_view why) {
  fmt::print(stderr, "facegate eval: {}.\n", terminalSafe(why));
  return kExitUndecided;
}

std::string percent(double rate) {
  return fmt::format("{:.2f} %", rate * 100.0);
}

// "1e-2", the way the report names a target rate.
std::string fmrLabel(double fmr) {
  return fmt::format("1e{}", static_cast<int>(std::lround(std::log10(fmr))));
}

std::string duration(double seconds) {
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  return s >= 60 ? fmt::format("{}m {:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

struct EvalOptions {
  std::optional<std::filesystem::path> dir;
  std::optional<std::string> pairsFile;
  double threshold = face::kDefaultMatchThreshold;
  std::optional<std::string> plot;
  bool force = false;
  bool json = false;
  std::int64_t seed = 1;
  std::int64_t maxImpostors = kDefaultMaxImpostors;
  std::optional<std::filesystem::path> modelDir;
  std::string face = "centre";
  bool compareStock = false;
  bool noRetry = false;
  int jitters = 0;
};

// The LFW protocol's result, when --pairs is given.
struct ProtocolResult {
  eval::FoldAccuracy accuracy;          // every pair, those without a usable face counted wrong
  eval::FoldAccuracy acquiredAccuracy;  // only the pairs whose two images gave a face
  int folds = 0;
  std::size_t pairs = 0;
  std::size_t unacquired = 0;  // an image of the pair has no usable face
};

// LFW's protocol on `embedded` (one per image of the set), pairs as `images` index them.
ProtocolResult scoreProtocol(const eval::PairsProtocol& protocol,
                             const std::vector<std::pair<std::size_t, std::size_t>>& images,
                             const std::vector<eval::ImageEmbedding>& embedded) {
  ProtocolResult result;
  result.folds = protocol.folds;
  result.pairs = protocol.pairs.size();
  std::vector<eval::FoldPair> every;
  std::vector<eval::FoldPair> acquired;
  for (std::size_t p = 0; p < protocol.pairs.size(); ++p) {
    const auto [a, b] = images[p];
    eval::FoldPair pair{protocol.pairs[p].fold, protocol.pairs[p].genuine, 0.0, true};
    if (!embedded[a].embedding || !embedded[b].embedding) {
      pair.acquired = false;
      ++result.unacquired;
    } else {
      pair.distance = face::distance(*embedded[a].embedding, *embedded[b].embedding);
      acquired.push_back(pair);
    }
    every.push_back(pair);
  }
  result.accuracy = eval::crossValidatedAccuracy(every, protocol.folds);
  result.acquiredAccuracy = eval::crossValidatedAccuracy(acquired, protocol.folds);
  return result;
}

nlohmann::ordered_json protocolJson(const ProtocolResult& lfw) {
  return {{"folds", lfw.folds},
          {"pairs", lfw.pairs},
          {"pairs_without_face", lfw.unacquired},
          {"accuracy_mean", lfw.accuracy.mean},
          {"accuracy_stddev", lfw.accuracy.stddev},
          {"accuracy", lfw.accuracy.accuracy},
          {"thresholds", lfw.accuracy.thresholds},
          {"accuracy_without_failures_mean", lfw.acquiredAccuracy.mean},
          {"accuracy_without_failures_stddev", lfw.acquiredAccuracy.stddev}};
}

std::string protocolLine(const ProtocolResult& lfw, std::string_view recipe) {
  return fmt::format(
      "{}-fold accuracy, {}: {} +/- {} over {} pairs, the {} pairs without a usable face "
      "counted as errors (failure to acquire {}); {} without them\n",
      lfw.folds, recipe, percent(lfw.accuracy.mean), percent(lfw.accuracy.stddev), lfw.pairs,
      lfw.unacquired,
      percent(lfw.pairs > 0 ? static_cast<double>(lfw.unacquired) / static_cast<double>(lfw.pairs)
                            : 0.0),
      percent(lfw.acquiredAccuracy.mean));
}

int runEval(const EvalOptions& options) {
  if (!options.dir) {
    return badInput("expected the folder DIR of person folders");
  }
  const fs::path dir = *options.dir;
  const double threshold = options.threshold;
  const std::int64_t seed = options.seed;
  const std::int64_t maxImpostors = options.maxImpostors;
  auto plot = plotOutput(options.plot, options.force);
  if (!plot) {
    return badInput(plot.error().message);
  }
  const std::optional<std::string>& plotFile = plot->file;
  const Overwrite overwrite = plot->overwrite;
  const std::optional<fs::path>& modelFlag = options.modelDir;

  // Everything that can be refused is checked before the models are loaded.
  auto set = eval::scanPhotoSet(dir);
  if (!set) {
    return badInput(set.error().message);
  }
  if (set->persons.size() < 2) {
    return badInput(fmt::format("{} holds one person folder ({}); impostor pairs need at least two",
                                dir.string(), set->persons.front()));
  }
  std::map<std::string, std::size_t> imageIndex;
  for (std::size_t i = 0; i < set->images.size(); ++i) {
    imageIndex.emplace(set->images[i].file.lexically_normal().string(), i);
  }
  std::optional<eval::PairsProtocol> protocol;
  std::vector<std::pair<std::size_t, std::size_t>> protocolImages;
  if (const auto& pairsFile = options.pairsFile) {
    auto read = eval::readPairsFile(*pairsFile);
    if (!read) {
      return badInput(read.error().message);
    }
    protocol = std::move(*read);
    if (protocol->folds < 2) {
      return badInput(fmt::format(
          "{}:1: cross-validation needs at least 2 folds, the header announces 1", *pairsFile));
    }
    for (const eval::ProtocolPair& pair : protocol->pairs) {
      std::size_t found[2] = {0, 0};
      const std::pair<const std::string*, int> sides[2] = {{&pair.nameA, pair.indexA},
                                                           {&pair.nameB, pair.indexB}};
      for (int s = 0; s < 2; ++s) {
        const auto& [name, index] = sides[s];
        const auto file = eval::findPairImage(dir, *name, index);
        const auto it =
            file ? imageIndex.find(file->lexically_normal().string()) : imageIndex.end();
        if (it == imageIndex.end()) {
          return badInput(fmt::format(
              "{}:{}: there is no image {} of {} in {} (looked for {}/{}_{:04}.jpg and the .png "
              "and {}_{} forms)",
              *pairsFile, pair.line, index, *name, dir.string(), *name, *name, index, *name,
              index));
        }
        found[s] = it->second;
      }
      protocolImages.emplace_back(found[0], found[1]);
    }
  }

  Stopwatch loadWatch;
  auto modelDir = face::findModelDir(modelFlag);
  if (!modelDir) {
    return badInput(modelDir.error().message);
  }
  std::vector<fs::path> files;
  for (const auto& image : set->images) {
    files.push_back(image.file);
  }
  eval::EmbedOptions embedOptions;
  if (!options.noRetry) {
    embedOptions.engine.retryScoreThreshold = eval::kPhotoRetryScoreThreshold;
  }
  embedOptions.engine.jitters = options.jitters;
  embedOptions.choice =
      options.face == "largest" ? eval::FaceChoice::Largest : eval::FaceChoice::NearestCentre;
  embedOptions.onProgress = [](const eval::EmbedProgress& p) {
    const double rate =
        p.elapsedSeconds > 0.0 ? static_cast<double>(p.done) / p.elapsedSeconds : 0.0;
    const std::string left =
        rate > 0.0 ? duration(static_cast<double>(p.total - p.done) / rate) : std::string("?");
    fmt::print(stderr, "facegate eval: {}/{} images, {:.1f} images/s, {} left\n", p.done, p.total,
               rate, left);
  };
  Stopwatch embedWatch;
  auto embedded = eval::embedImages(files, *modelDir, embedOptions);
  if (!embedded) {
    return badInput(embedded.error().message);
  }
  const double embedSeconds = embedWatch.elapsedMs() / 1000.0;

  // Score only images with a usable face; `usable` maps back to set->images.
  std::vector<std::size_t> usable;
  std::vector<int> usablePerson;
  std::vector<std::pair<std::string, std::string>> withoutFace;
  for (std::size_t i = 0; i < embedded->size(); ++i) {
    if ((*embedded)[i].embedding) {
      usable.push_back(i);
      usablePerson.push_back(set->images[i].person);
    } else {
      withoutFace.emplace_back(set->images[i].file.string(), (*embedded)[i].problem);
    }
  }
  auto distanceOf = [&](std::size_t a, std::size_t b) {
    return face::distance(*(*embedded)[a].embedding, *(*embedded)[b].embedding);
  };
  const auto selection = eval::selectPairs(usablePerson, static_cast<std::uint64_t>(maxImpostors),
                                           static_cast<std::uint64_t>(seed));
  std::vector<double> genuine;
  std::vector<double> impostor;
  for (const auto& [a, b] : selection.genuine) {
    genuine.push_back(distanceOf(usable[a], usable[b]));
  }
  for (const auto& [a, b] : selection.impostor) {
    impostor.push_back(distanceOf(usable[a], usable[b]));
  }
  const eval::DistanceScores scores(std::move(genuine), std::move(impostor));
  const std::size_t genuineCount = scores.genuine().size();
  const std::size_t impostorCount = scores.impostor().size();
  const auto eer = scores.eer();

  std::optional<ProtocolResult> lfw;
  std::optional<ProtocolResult> stockLfw;
  if (protocol) {
    lfw = scoreProtocol(*protocol, protocolImages, *embedded);
    if (options.compareStock) {
      eval::EmbedOptions stockOptions = embedOptions;
      stockOptions.recipe = eval::Recipe::Stock;
      auto stock = eval::embedImages(files, *modelDir, stockOptions);
      if (!stock) {
        return badInput(stock.error().message);
      }
      stockLfw = scoreProtocol(*protocol, protocolImages, *stock);
    }
  }

  if (plotFile) {
    if (auto written = eval::writeDetPlot(*plotFile, scores, threshold, overwrite); !written) {
      return badInput(outputFileError(written.error(), kForceReplaces));
    }
  }

  if (options.json) {
    nlohmann::ordered_json out;
    out["dir"] = dir.string();
    out["images"] = set->images.size();
    out["persons"] = set->persons.size();
    out["images_without_face"] = withoutFace.size();
    out["without_face"] = nlohmann::ordered_json::array();
    for (const auto& [file, problem] : withoutFace) {
      out["without_face"].push_back({{"file", file}, {"problem", problem}});
    }
    out["genuine_pairs"] = genuineCount;
    out["impostor_pairs"] = impostorCount;
    out["impostor_pairs_possible"] = selection.impostorPossible;
    out["impostor_pairs_sampled"] = selection.impostorSampled;
    out["seed"] = seed;
    out["eer"] = eer ? nlohmann::ordered_json{{"rate", eer->rate}, {"threshold", eer->threshold}}
                     : nlohmann::ordered_json(nullptr);
    out["fnmr_at_fmr"] = nlohmann::ordered_json::array();
    for (const double fmr : kReportedFmrs) {
      const auto at = scores.fnmrAtFmr(fmr);
      out["fnmr_at_fmr"].push_back({
          {"fmr", fmr},
          {"fnmr", at ? nlohmann::ordered_json(at->rate) : nlohmann::ordered_json(nullptr)},
          {"threshold",
           at ? nlohmann::ordered_json(at->threshold) : nlohmann::ordered_json(nullptr)},
          {"impostor_pairs", impostorCount},
          {"impostor_pairs_needed", static_cast<std::uint64_t>(std::ceil(3.0 / fmr))},
          {"supported", eval::supportsFmr(impostorCount, fmr)},
      });
    }
    out["threshold"] = threshold;
    out["false_accepts"] = scores.falseAccepts(threshold);
    out["false_rejects"] = scores.falseRejects(threshold);
    out["fmr"] = scores.fmrAt(threshold);
    out["fnmr"] = scores.fnmrAt(threshold);
    out["genuine_distance_max"] = genuineCount > 0 ? nlohmann::ordered_json(scores.genuine().back())
                                                   : nlohmann::ordered_json(nullptr);
    out["impostor_distance_min"] = impostorCount > 0
                                       ? nlohmann::ordered_json(scores.impostor().front())
                                       : nlohmann::ordered_json(nullptr);
    out["face_choice"] = eval::toString(embedOptions.choice);
    out["detector_retry_score"] =
        embedOptions.engine.retryScoreThreshold
            ? nlohmann::ordered_json(*embedOptions.engine.retryScoreThreshold)
            : nlohmann::ordered_json(nullptr);
    out["jitters"] = embedOptions.engine.jitters;
    out["images_without_face_rate"] =
        static_cast<double>(withoutFace.size()) / static_cast<double>(set->images.size());
    if (lfw) {
      out["lfw"] = protocolJson(*lfw);
    }
    if (stockLfw) {
      out["lfw_stock_recipe"] = protocolJson(*stockLfw);
    }
    if (plotFile) {
      out["plot"] = *plotFile;
    }
    out["seconds_load_and_embed"] = embedSeconds;
    out["seconds_total"] = loadWatch.elapsedMs() / 1000.0;
    fmt::print("{}\n", out.dump());
    return kExitOk;
  }

  fmt::print(
      "{}: {} images of {} persons, {} without a usable face (failure to acquire {}); {} "
      "of each photo; {}{}\n",
      dir.string(), set->images.size(), set->persons.size(), withoutFace.size(),
      percent(static_cast<double>(withoutFace.size()) / static_cast<double>(set->images.size())),
      eval::toString(embedOptions.choice),
      embedOptions.engine.retryScoreThreshold
          ? fmt::format("detection retried at score {} when a photo shows none",
                        *embedOptions.engine.retryScoreThreshold)
          : std::string("no detection retry"),
      embedOptions.engine.jitters > 0 ? fmt::format("; embeddings averaged over {} jittered copies",
                                                    embedOptions.engine.jitters)
                                      : std::string());
  for (const auto& [file, problem] : withoutFace) {
    fmt::print("  {}: {}\n", file, problem);
  }
  fmt::print("pairs: {} genuine, {} impostor{}\n", genuineCount, impostorCount,
             selection.impostorSampled ? fmt::format(" (a sample of the {} possible, seed {})",
                                                     selection.impostorPossible, seed)
                                       : std::string(" (all)"));
  if (eer) {
    fmt::print("EER: {} at threshold {:.3f}\n", percent(eer->rate), eer->threshold);
  } else {
    fmt::print("EER: not defined (needs genuine and impostor pairs)\n");
  }
  for (const double fmr : kReportedFmrs) {
    const auto needed = static_cast<std::uint64_t>(std::ceil(3.0 / fmr));
    const auto at = scores.fnmrAtFmr(fmr);
    if (!at) {
      fmt::print("FNMR at FMR {}: not defined (needs genuine and impostor pairs)\n", fmrLabel(fmr));
    } else if (eval::supportsFmr(impostorCount, fmr)) {
      fmt::print("FNMR at FMR {}: {} at threshold {:.3f} ({} impostor pairs; {} needed)\n",
                 fmrLabel(fmr), percent(at->rate), at->threshold, impostorCount, needed);
    } else {
      fmt::print("FNMR at FMR {}: not supported ({} impostor pairs; the rule of three needs {})\n",
                 fmrLabel(fmr), impostorCount, needed);
    }
  }
  fmt::print(
      "at threshold {:.2f}: {} false accepts of {} impostor pairs (FMR {}), {} false rejects "
      "of {} genuine pairs (FNMR {})\n",
      threshold, scores.falseAccepts(threshold), impostorCount, percent(scores.fmrAt(threshold)),
      scores.falseRejects(threshold), genuineCount, percent(scores.fnmrAt(threshold)));
  if (genuineCount > 0 && impostorCount > 0) {
    fmt::print("largest genuine distance {:.3f}, smallest impostor distance {:.3f}\n",
               scores.genuine().back(), scores.impostor().front());
  }
  if (lfw) {
    fmt::print("{}", protocolLine(*lfw, "facegate"));
  }
  if (stockLfw) {
    fmt::print("{}", protocolLine(*stockLfw, "dlib's stock recipe (same models, same run)"));
  }
  if (plotFile) {
    fmt::print("plot: {}\n", *plotFile);
  }
  fmt::print("models loaded and images embedded in {:.1f} s ({:.1f} images/s, 2 threads)\n",
             embedSeconds, static_cast<double>(set->images.size()) / std::max(embedSeconds, 1e-9));
  return kExitOk;
}

}  // namespace

void addEval(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App& command =
      addCommand(app, "eval", "error rates (EER, FNMR at FMR, DET plot) on folders of persons",
                 "Measures verification error rates on DIR, one sub-folder of photos per person\n"
                 "(folders starting with '_' are skipped). Exit 0: evaluated; 2: bad input.");
  command.add_option("dir", options->dir, "the folder of person folders")->type_name("DIR");
  command
      .add_option("--pairs", options->pairsFile,
                  "also run LFW's 10-fold protocol from a "
                  "pairs.txt file")
      ->type_name("FILE");
  checkNumber(
      command
          .add_option("--threshold", options->threshold, "report false accepts and rejects at T")
          ->type_name("T"),
      face::kMinThreshold, face::kMaxThreshold);
  addReportOptions(command, options->plot, options->force, options->json,
                   "the DET curve and distance histograms");
  checkWholeNumber(command
                       .add_option("--max-impostors", options->maxImpostors,
                                   "score all impostor pairs up to N, else a sample of N")
                       ->type_name("N"),
                   1, 1'000'000'000);
  checkWholeNumber(
      command.add_option("--seed", options->seed, "seed of that sample")->type_name("N"), 0,
      INT64_MAX);
  command.add_option("--face", options->face, "which face of a photo: centre (LFW's) or largest")
      ->type_name("RULE")
      ->check(oneOf({"centre", "largest"}))
      ->capture_default_str();
  command.add_flag("--no-retry", options->noRetry,
                   "no second detection at a lower score when a photo shows no face");
  checkWholeNumber(command
                       .add_option("--jitters", options->jitters,
                                   "average each embedding over N jittered copies as well")
                       ->type_name("N"),
                   0, face::kMaxJitters);
  command.add_flag("--compare-stock", options->compareStock,
                   "with --pairs: also run the protocol on dlib's stock recipe (largest face)");
  command.add_option("--models", options->modelDir, "directory holding the dlib models")
      ->type_name("DIR");
  commands.push_back({&command, [options] { return runEval(*options); }});
}

}  // namespace facegate::cli
