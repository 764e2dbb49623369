// facegate eval-gate DIR: the error rates a school should read, measured as the gate decides.
// facegate calibrate-threshold DIR: the threshold that gives a target FMR on those photos.
//
// Both run the gate's protocol (eval/gate_protocol.hpp): a template per person made by the
// enrolment desk's own TemplateBuilder, compared with passages of that person's other photos
// and of everybody else's, each passage fused as the gate fuses its frames.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/app/lookup.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/stopwatch.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/eval/det_plot.hpp"
#include "facegate/eval/gate_protocol.hpp"
#include "facegate/eval/metrics.hpp"
#include "facegate/eval/photo_set.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/match.hpp"

namespace facegate::cli {
namespace {

namespace fs = std::filesystem;

constexpr double kReportedFmrs[] = {1e-3, 1e-4};
// The human report's table of rates: thresholds 0.36 to 0.60 in steps of 0.02.
constexpr double kTableFrom = 0.36;
constexpr double kTableStep = 0.02;
constexpr int kTableSteps = 12;

struct GateEvalOptions {
  std::optional<fs::path> dir;
  std::optional<double> threshold;  // none: the configuration's, else the default
  std::optional<fs::path> configFile;
  int enrolPhotos = 3;
  int frames = 1;
  int maxPassages = 20;
  std::optional<int> minFacePx;  // none: the desk's rule
  std::string face = "centre";
  bool noMirror = false;
  int enrolJitters = 0;
  std::string fusion = "farthest";
  std::int64_t seed = 1;
  double targetFmr = 1e-4;
  std::optional<std::string> plot;
  bool force = false;
  bool json = false;
  std::optional<fs::path> modelDir;
};

std::string percent(double rate) {
  return fmt::format("{:.2f} %", rate * 100.0);
}

std::string fmrLabel(double fmr) {
  const double exponent = std::log10(fmr);
  if (std::abs(exponent - std::round(exponent)) < 1e-9) {
    return fmt::format("1e{}", static_cast<int>(std::lround(exponent)));
  }
  return fmt::format("{:g}", fmr);
}

// Why each person could not be enrolled, counted by the problem's name.
struct Enrolment {
  std::vector<eval::EnrolledPerson> enrolled;
  std::size_t candidates = 0;  // persons with enough photos to try
  std::map<std::string, std::size_t> failures;
};

// Per person with enough photos: the first photos (in the shuffled order) the desk accepts
// one by one, then the template the desk would make of them (or why it would refuse).
Enrolment enrolPersons(face::FaceEngine& engine, const eval::PhotoSet& set,
                       const std::vector<std::vector<std::size_t>>& order,
                       const enrolment::TemplateSettings& settings,
                       const eval::GateProtocolSettings& protocol) {
  Enrolment out;
  const auto needed = static_cast<std::size_t>(protocol.enrolPhotos);
  for (std::size_t p = 0; p < order.size(); ++p) {
    if (order[p].size() < needed + static_cast<std::size_t>(protocol.framesPerPassage)) {
      continue;
    }
    ++out.candidates;
    auto screen = enrolment::TemplateBuilder::create(engine, settings);
    if (!screen) {
      out.failures[screen.error().message] += 1;
      continue;
    }
    std::vector<std::size_t> chosen;
    enrolment::PhotoProblem firstProblem = enrolment::PhotoProblem::None;
    // Leave at least one passage of probes to the person.
    const std::size_t candidates =
        order[p].size() - static_cast<std::size_t>(protocol.framesPerPassage);
    for (std::size_t i = 0; i < candidates && chosen.size() < needed; ++i) {
      const auto& report = screen->addFile(set.images[order[p][i]].file);
      if (report.problem == enrolment::PhotoProblem::None) {
        chosen.push_back(order[p][i]);
      } else if (firstProblem == enrolment::PhotoProblem::None) {
        firstProblem = report.problem;
      }
    }
    if (chosen.size() < needed) {
      out.failures[fmt::format("fewer than {} photos pass the desk's checks (first problem: {})",
                               needed, enrolment::toString(firstProblem))] += 1;
      continue;
    }
    auto builder = enrolment::TemplateBuilder::create(engine, settings);
    for (const std::size_t image : chosen) {
      builder->addFile(set.images[image].file);
    }
    auto templ = builder->build();
    if (!templ) {
      out.failures["the photos do not agree (the desk refuses the template)"] += 1;
      continue;
    }
    out.enrolled.push_back({static_cast<int>(p), std::move(*templ), std::move(chosen)});
  }
  return out;
}

int runGateProtocol(const GateEvalOptions& options, bool calibrate) {
  const std::string name = calibrate ? "calibrate-threshold" : "eval-gate";
  auto badInput = [&name](std::string_view why) {
    fmt::print(stderr, "facegate {}: {}.\n", name, terminalSafe(why));
    return kExitUndecided;
  };
  if (!options.dir) {
    return badInput("expected the folder DIR of person folders");
  }
  config::Config cfg = config::defaults();
  if (const auto& file = options.configFile) {
    auto loaded = config::loadConfig(*file);
    if (!loaded) {
      return badInput(loaded.error().message);
    }
    cfg = std::move(*loaded);
  }
  const double threshold = options.threshold.value_or(cfg.face.threshold);
  auto plot = plotOutput(options.plot, options.force);
  if (!plot) {
    return badInput(plot.error().message);
  }
  auto set = eval::scanPhotoSet(*options.dir);
  if (!set) {
    return badInput(set.error().message);
  }
  auto modelDir = app::modelDirFor(cfg, options.modelDir);
  if (!modelDir) {
    return badInput(modelDir.error().message);
  }

  eval::GateProtocolSettings protocol;
  protocol.enrolPhotos = options.enrolPhotos;
  protocol.framesPerPassage = options.frames;
  protocol.maxPassagesPerPerson = options.maxPassages;
  protocol.seed = static_cast<std::uint64_t>(options.seed);
  protocol.fusion = options.fusion == "mean" ? eval::PassageFusion::MeanEmbedding
                                             : eval::PassageFusion::FarthestFrame;
  eval::EmbedOptions embedOptions;
  embedOptions.engine.detectMaxSide = cfg.face.detectMaxSide;
  embedOptions.engine.mirrorAverage = !options.noMirror;
  embedOptions.choice =
      options.face == "centre" ? eval::FaceChoice::NearestCentre : eval::FaceChoice::Largest;
  enrolment::TemplateSettings templateSettings;
  templateSettings.gateThreshold = threshold;
  if (options.minFacePx) {
    templateSettings.minFacePx = *options.minFacePx;
  }

  Stopwatch watch;
  face::EngineOptions deskEngine = embedOptions.engine;
  deskEngine.jitters = options.enrolJitters;
  auto engine = face::FaceEngine::load(*modelDir, deskEngine);
  if (!engine) {
    return badInput(engine.error().message);
  }
  const auto order = eval::shuffledImagesByPerson(*set, protocol.seed);
  const Enrolment enrolment = enrolPersons(**engine, *set, order, templateSettings, protocol);
  if (enrolment.enrolled.empty()) {
    return badInput(fmt::format("no person of {} could be enrolled ({} had at least {} photos)",
                                options.dir->string(), enrolment.candidates,
                                protocol.enrolPhotos + protocol.framesPerPassage));
  }
  std::vector<fs::path> files;
  files.reserve(set->images.size());
  for (const auto& image : set->images) {
    files.push_back(image.file);
  }
  embedOptions.onProgress = [&name](const eval::EmbedProgress& p) {
    fmt::print(stderr, "facegate {}: {}/{} images\n", name, p.done, p.total);
  };
  auto embedded = eval::embedImages(files, *modelDir, embedOptions);
  if (!embedded) {
    return badInput(embedded.error().message);
  }
  const eval::GateScores gate =
      eval::scoreGateProtocol(enrolment.enrolled, order, *embedded, protocol);
  const eval::DistanceScores scores(gate.genuine, gate.impostor);
  const std::size_t impostors = scores.impostor().size();
  const std::size_t genuineAttempts = scores.genuine().size() + gate.genuineUnacquired;
  const auto target = scores.fnmrAtFmr(options.targetFmr);
  const bool targetSupported = eval::supportsFmr(impostors, options.targetFmr);
  const auto neededFor = [](double fmr) {
    return static_cast<std::uint64_t>(std::ceil(3.0 / fmr));
  };

  if (plot->file) {
    if (auto written = eval::writeDetPlot(*plot->file, scores, threshold, plot->overwrite);
        !written) {
      return badInput(outputFileError(written.error(), kForceReplaces));
    }
  }

  if (options.json) {
    nlohmann::ordered_json out;
    out["dir"] = options.dir->string();
    out["recipe"] = options.noMirror ? "facegate, no mirror" : "facegate";
    out["face_choice"] = eval::toString(embedOptions.choice);
    out["enrol_photos"] = protocol.enrolPhotos;
    out["enrol_jitters"] = options.enrolJitters;
    out["fusion"] = options.fusion;
    out["frames_per_passage"] = protocol.framesPerPassage;
    out["max_passages_per_person"] = protocol.maxPassagesPerPerson;
    out["min_face_px"] = templateSettings.minFacePx;
    out["seed"] = options.seed;
    out["persons_tried"] = enrolment.candidates;
    out["persons_enrolled"] = enrolment.enrolled.size();
    out["enrolment_failures"] = enrolment.failures;
    out["genuine_passages"] = scores.genuine().size();
    out["genuine_unacquired"] = gate.genuineUnacquired;
    out["impostor_passages"] = impostors;
    out["impostor_unacquired"] = gate.impostorUnacquired;
    out["threshold"] = threshold;
    out["false_accepts"] = scores.falseAccepts(threshold);
    out["false_rejects"] = scores.falseRejects(threshold);
    out["fmr"] = scores.fmrAt(threshold);
    out["fnmr"] = scores.fnmrAt(threshold);
    out["fnmr_with_unacquired"] =
        genuineAttempts > 0
            ? static_cast<double>(scores.falseRejects(threshold) + gate.genuineUnacquired) /
                  static_cast<double>(genuineAttempts)
            : 0.0;
    out["fnmr_at_fmr"] = nlohmann::ordered_json::array();
    for (const double fmr : kReportedFmrs) {
      const auto at = scores.fnmrAtFmr(fmr);
      out["fnmr_at_fmr"].push_back(
          {{"fmr", fmr},
           {"fnmr", at ? nlohmann::ordered_json(at->rate) : nlohmann::ordered_json(nullptr)},
           {"threshold",
            at ? nlohmann::ordered_json(at->threshold) : nlohmann::ordered_json(nullptr)},
           {"impostor_passages", impostors},
           {"supported", eval::supportsFmr(impostors, fmr)}});
    }
    out["target_fmr"] = options.targetFmr;
    out["calibrated_threshold"] = target && targetSupported
                                      ? nlohmann::ordered_json(target->threshold)
                                      : nlohmann::ordered_json(nullptr);
    out["seconds"] = watch.elapsedMs() / 1000.0;
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print(
        "{}: {} of {} persons with at least {} photos enrolled ({} photos per template, "
        "the desk's checks{}{}); {}, {}{}\n",
        options.dir->string(), enrolment.enrolled.size(), enrolment.candidates,
        protocol.enrolPhotos + protocol.framesPerPassage, protocol.enrolPhotos,
        options.minFacePx ? fmt::format(" with faces from {} px", *options.minFacePx) : "",
        options.enrolJitters > 0
            ? fmt::format(", each photo's embedding averaged over {} jittered copies",
                          options.enrolJitters)
            : "",
        eval::toString(embedOptions.choice),
        options.noMirror ? "no mirror averaging" : "mirror-averaged embeddings",
        protocol.framesPerPassage > 1
            ? fmt::format("; a passage is {} photos, {}", protocol.framesPerPassage,
                          protocol.fusion == eval::PassageFusion::FarthestFrame
                              ? "all of which must match"
                              : "compared by their mean embedding")
            : "; a passage is one photo");
    for (const auto& [why, count] : enrolment.failures) {
      fmt::print("  not enrolled: {} person(s): {}\n", count, why);
    }
    fmt::print(
        "passages: {} genuine ({} more without a usable face), {} impostor ({} without), "
        "at most {} per person\n",
        scores.genuine().size(), gate.genuineUnacquired, impostors, gate.impostorUnacquired,
        protocol.maxPassagesPerPerson);
    fmt::print(
        "at threshold {:.3f}: {} false accepts of {} impostor passages (FMR {}), {} false "
        "rejects of {} genuine passages (FNMR {}; {} counting those without a face)\n",
        threshold, scores.falseAccepts(threshold), impostors,
        fmt::format("{:.2e}", scores.fmrAt(threshold)), scores.falseRejects(threshold),
        scores.genuine().size(), percent(scores.fnmrAt(threshold)),
        percent(genuineAttempts > 0
                    ? static_cast<double>(scores.falseRejects(threshold) + gate.genuineUnacquired) /
                          static_cast<double>(genuineAttempts)
                    : 0.0));
    for (const double fmr : kReportedFmrs) {
      const auto at = scores.fnmrAtFmr(fmr);
      if (!at) {
        fmt::print("FNMR at FMR {}: not defined\n", fmrLabel(fmr));
      } else if (eval::supportsFmr(impostors, fmr)) {
        fmt::print("FNMR at FMR {}: {} at threshold {:.3f} ({} impostor passages; {} needed)\n",
                   fmrLabel(fmr), percent(at->rate), at->threshold, impostors, neededFor(fmr));
      } else {
        fmt::print(
            "FNMR at FMR {}: not supported ({} impostor passages; the rule of three needs "
            "{})\n",
            fmrLabel(fmr), impostors, neededFor(fmr));
      }
    }
    fmt::print("threshold  false accepts  FMR       false rejects  FNMR\n");
    for (int step = 0; step <= kTableSteps; ++step) {
      const double t = kTableFrom + (kTableStep * step);
      fmt::print("{:.2f}       {:>13}  {:.2e}  {:>13}  {}\n", t, scores.falseAccepts(t),
                 scores.fmrAt(t), scores.falseRejects(t), percent(scores.fnmrAt(t)));
    }
    if (plot->file) {
      fmt::print("plot: {}\n", *plot->file);
    }
  }
  if (!calibrate) {
    return kExitOk;
  }
  if (!target || !targetSupported) {
    return badInput(
        fmt::format("{} impostor passages cannot support FMR {} (the rule of three "
                    "needs {}): add photos of more people",
                    impostors, fmrLabel(options.targetFmr), neededFor(options.targetFmr)));
  }
  if (!options.json) {
    fmt::print(
        "calibrated for FMR {}: FNMR {} ({} of {} genuine passages rejected)\n"
        "[face]\nthreshold = {:.3f}\n",
        fmrLabel(options.targetFmr), percent(target->rate), scores.falseRejects(target->threshold),
        scores.genuine().size(), std::floor(target->threshold * 1000.0) / 1000.0);
  }
  return kExitOk;
}

void addProtocolOptions(CLI::App& command, GateEvalOptions& options) {
  command.add_option("dir", options.dir, "the folder of person folders")->type_name("DIR");
  command
      .add_option("--config", options.configFile,
                  "the gate's configuration (threshold, face settings, models)")
      ->type_name("FILE");
  checkWholeNumber(command
                       .add_option("--enrol-photos", options.enrolPhotos,
                                   "photos per template, as the desk takes them")
                       ->type_name("N")
                       ->capture_default_str(),
                   1, 10);
  checkWholeNumber(command
                       .add_option("--frames", options.frames,
                                   "photos fused into one passage (every one must match)")
                       ->type_name("N")
                       ->capture_default_str(),
                   1, 8);
  checkWholeNumber(command
                       .add_option("--max-passages", options.maxPassages,
                                   "passages per person at most, genuine and impostor")
                       ->type_name("N")
                       ->capture_default_str(),
                   1, 100000);
  checkWholeNumber(command
                       .add_option("--min-face-px", options.minFacePx,
                                   "relax the desk's face-size rule for small benchmark photos "
                                   "(default: the desk's 100)")
                       ->type_name("N"),
                   20, 1000);
  command
      .add_option("--face", options.face, "which face of a probe photo: centre (LFW's) or largest")
      ->type_name("RULE")
      ->check(oneOf({"centre", "largest"}))
      ->capture_default_str();
  command
      .add_option("--fusion", options.fusion,
                  "a passage's distance: its farthest frame's (the gate's) or its frames' mean "
                  "embedding's")
      ->type_name("RULE")
      ->check(oneOf({"farthest", "mean"}))
      ->capture_default_str();
  command.add_flag("--no-mirror", options.noMirror,
                   "embed without mirror averaging (to measure what it brings)");
  checkWholeNumber(command
                       .add_option("--enrol-jitters", options.enrolJitters,
                                   "average each enrolment photo's embedding over N jittered "
                                   "copies as well")
                       ->type_name("N"),
                   0, face::kMaxJitters);
  checkWholeNumber(command.add_option("--seed", options.seed, "seed of each person's photo order")
                       ->type_name("N"),
                   0, INT64_MAX);
  command.add_option("--models", options.modelDir, "directory holding the dlib models")
      ->type_name("DIR");
}

}  // namespace

void addEvalGate(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<GateEvalOptions>();
  CLI::App& command = addCommand(
      app, "eval-gate", "error rates as the gate decides: enrolled templates against passages",
      "Enrols each person of DIR with enough photos through the desk's template builder and\n"
      "compares the template with passages of their other photos and of everybody else's,\n"
      "fused as the gate fuses frames (every frame must match). Exit 0: evaluated; 2: bad\n"
      "input.");
  addProtocolOptions(command, *options);
  checkNumber(command
                  .add_option("--threshold", options->threshold,
                              "report false accepts and rejects at T (default: the config's)")
                  ->type_name("T"),
              face::kMinThreshold, face::kMaxThreshold);
  addReportOptions(command, options->plot, options->force, options->json,
                   "the DET curve and distance histograms");
  commands.push_back({&command, [options] { return runGateProtocol(*options, false); }});
}

void addCalibrateThreshold(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<GateEvalOptions>();
  CLI::App& command = addCommand(
      app, "calibrate-threshold", "the face.threshold that gives a target FMR on a school's photos",
      "Runs the gate's protocol (as eval-gate) on DIR, one folder of photos per consenting\n"
      "person, and prints the largest threshold whose false match rate is at most --target-fmr\n"
      "as a [face] line for facegate.toml. The photos are read, never stored. Exit 0:\n"
      "calibrated; 2: bad input or too few impostor passages for the target.");
  addProtocolOptions(command, *options);
  checkNumber(
      command.add_option("--target-fmr", options->targetFmr, "the false match rate to hold")
          ->type_name("F")
          ->capture_default_str(),
      0.0, 0.1);
  addReportOptions(command, options->plot, options->force, options->json,
                   "the DET curve and distance histograms");
  commands.push_back({&command, [options] { return runGateProtocol(*options, true); }});
}

}  // namespace facegate::cli
