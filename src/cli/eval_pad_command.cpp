// facegate eval-pad: how often do photos and replays pass as live, and live faces get flagged?
#include <algorithm>
#include <cstdint>
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
#include "facegate/app/settings.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/eval/pad.hpp"
#include "facegate/eval/photo_set.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/liveness/synthetic.hpp"

namespace facegate::cli {
namespace {

namespace fs = std::filesystem;

struct EvalPadOptions {
  std::vector<std::string> live;
  std::vector<std::string> attacks;
  std::optional<std::string> synthetic;
  std::string part = "all";
  std::optional<std::string> configFile;
  std::optional<std::string> plot;
  bool force = false;
  bool json = false;
  bool list = false;
  std::int64_t maxFrames = 2000;
  std::optional<fs::path> modelDir;
};

int badInput(std::string_view why) {
  fmt::print(stderr, "facegate eval-pad: {}.\n", terminalSafe(why));
  return kExitUndecided;
}

std::string percent(const eval::PadRate& r) {
  return r.presentations == 0 ? std::string("n/a") : fmt::format("{:.2f} %", r.rate() * 100.0);
}

struct Source {
  std::string type;  // "live" for bona fide
  fs::path path;
};

int runEvalPad(const EvalPadOptions& options) {
  std::vector<Source> sources;
  for (const auto& live : options.live) {
    if (live.empty()) {
      return badInput("--live needs a video file or a folder of frames");
    }
    sources.push_back({"live", live});
  }
  for (const auto& attack : options.attacks) {
    const auto eq = attack.find('=');
    Source s{"attack", attack};
    if (eq != std::string::npos) {
      s.type = attack.substr(0, eq);
      s.path = attack.substr(eq + 1);
      const bool nameOk =
          !s.type.empty() && s.type.size() <= 40 && s.type != "live" &&
          std::all_of(s.type.begin(), s.type.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
          });
      if (!nameOk) {
        return badInput(fmt::format(
            "--attack {}: the type before '=' must be 1 to 40 letters, digits, '-' or '_' "
            "(and not \"live\")",
            attack));
      }
    }
    if (s.path.empty()) {
      return badInput(fmt::format("--attack {}: no path after the type", attack));
    }
    sources.push_back(s);
  }
  const std::optional<std::string>& synthetic = options.synthetic;
  if (std::none_of(sources.begin(), sources.end(), [](auto& s) { return s.type != "live"; }) &&
      !synthetic) {
    return badInput("at least one --attack source or --synthetic DIR is needed");
  }
  const std::string& partName = options.part;  // all, tuning or held-out (the parser checked)
  const eval::SetPart setPart = partName == "tuning"     ? eval::SetPart::Tuning
                                : partName == "held-out" ? eval::SetPart::HeldOut
                                                         : eval::SetPart::All;
  const std::int64_t maxFrames = options.maxFrames;
  config::Config cfg = config::defaults();
  if (const auto& file = options.configFile) {
    auto loaded = config::loadConfig(*file);
    if (!loaded) {
      return badInput(loaded.error().message);
    }
    cfg = *loaded;
  }
  const liveness::Settings settings = app::gateSettingsFrom(cfg).liveness;
  auto plot = plotOutput(options.plot, options.force);
  if (!plot) {
    return badInput(plot.error().message);
  }
  const std::optional<std::string>& plotFile = plot->file;
  const Overwrite overwrite = plot->overwrite;
  std::optional<eval::PhotoSet> photos;
  if (synthetic) {
    auto set = eval::scanPhotoSet(*synthetic);
    if (!set) {
      return badInput(set.error().message);
    }
    photos = std::move(*set);
  }
  auto modelDir = app::modelDirFor(cfg, options.modelDir);  // the daemon's lookup
  if (!modelDir) {
    return badInput(modelDir.error().message);
  }
  face::EngineOptions engineOptions;
  engineOptions.detectMaxSide = cfg.face.detectMaxSide;
  auto engine = face::FaceEngine::load(*modelDir, engineOptions);
  if (!engine) {
    return badInput(engine.error().message);
  }

  // Type -> presentations, in the order types first appear; "live" first.
  std::vector<eval::PadGroup> groups{{"live", {}}};
  const auto groupOf = [&](const std::string& type) -> eval::PadGroup& {
    for (auto& g : groups) {
      if (g.name == type) {
        return g;
      }
    }
    groups.push_back({type, {}});
    return groups.back();
  };
  for (const auto& source : sources) {
    auto frames = eval::readSequence(source.path, static_cast<int>(maxFrames));
    if (!frames) {
      return badInput(frames.error().message);
    }
    auto judged =
        eval::judgeSequence(**engine, settings, *frames, cfg.face.minFacePx, source.path.string());
    if (!judged) {
      return badInput(judged.error().message);
    }
    fmt::print(stderr, "facegate eval-pad: {}: {} frames, {} presentations ({})\n",
               source.path.string(), frames->size(), judged->size(), source.type);
    auto& group = groupOf(source.type);
    group.presentations.insert(group.presentations.end(), judged->begin(), judged->end());
  }
  if (photos) {
    std::uint32_t seed = 1;
    for (const auto& image : photos->images) {
      auto photo = face::loadImage(image.file);
      if (!photo) {
        return badInput(photo.error().message);
      }
      for (const auto kind : {liveness::AttackKind::Print, liveness::AttackKind::Screen}) {
        const auto frames = liveness::synthesizeAttack(*photo, kind, seed++, settings.frames);
        auto judged = eval::judgeSequence(**engine, settings, frames, cfg.face.minFacePx,
                                          image.file.string());
        if (!judged) {
          return badInput(judged.error().message);
        }
        auto& group = groupOf(fmt::format("{}-synthetic", liveness::toString(kind)));
        group.presentations.insert(group.presentations.end(), judged->begin(), judged->end());
      }
    }
  }
  for (auto& g : groups) {
    g.presentations = eval::part(g.presentations, setPart);
  }

  if (plotFile) {
    if (auto written = eval::writePadPlot(*plotFile, groups, settings, overwrite); !written) {
      return badInput(outputFileError(written.error(), kForceReplaces));
    }
  }
  const eval::PadRate bp = eval::bpcer(groups.front().presentations);
  const auto cueCount = [](const std::vector<eval::PadPresentation>& list, std::string_view cue) {
    return std::count_if(list.begin(), list.end(),
                         [&](const auto& p) { return p.assessment.cue == cue; });
  };
  if (options.json) {
    nlohmann::ordered_json out;
    out["part"] = partName;
    out["settings"] = {{"frames", settings.frames},
                       {"border_sides", settings.borderSides},
                       {"border_frame_share", settings.borderFrameShare},
                       {"planar_min_motion_px", settings.planarMinMotionPx},
                       {"planar_max_residual", settings.planarMaxResidual}};
    out["bpcer"] = {
        {"presentations", bp.presentations}, {"flagged", bp.errors}, {"rate", bp.rate()}};
    out["apcer"] = nlohmann::ordered_json::array();
    for (std::size_t i = 1; i < groups.size(); ++i) {
      const eval::PadRate ap = eval::apcer(groups[i].presentations);
      out["apcer"].push_back(
          {{"type", groups[i].name},
           {"presentations", ap.presentations},
           {"passed_as_live", ap.errors},
           {"rate", ap.rate()},
           {"by_device_border", cueCount(groups[i].presentations, "device-border")},
           {"by_planar_motion", cueCount(groups[i].presentations, "planar-motion")}});
    }
    fmt::print("{}\n", out.dump());
    return kExitOk;
  }
  if (options.list) {
    for (const auto& g : groups) {
      for (const auto& p : g.presentations) {
        fmt::print("{:<16} {:<6} {:<14} {}  {}\n", g.name,
                   p.assessment.verdict == liveness::Verdict::Spoof ? "SPOOF" : "live",
                   p.assessment.cue.empty() ? "-" : p.assessment.cue,
                   liveness::describe(p.assessment.scores), p.source);
      }
    }
  }
  fmt::print("part: {}\n", partName);
  fmt::print(
      "thresholds: {} frames per presentation; device edge on >= {} sides in >= {:.0f} % "
      "of frames; planar motion residual <= {:.3f} when motion >= {:.1f} px\n",
      settings.frames, settings.borderSides, settings.borderFrameShare * 100.0,
      settings.planarMaxResidual, settings.planarMinMotionPx);
  fmt::print("BPCER {:>8}  {} of {} live presentations flagged as attacks\n", percent(bp),
             bp.errors, bp.presentations);
  for (std::size_t i = 1; i < groups.size(); ++i) {
    const eval::PadRate ap = eval::apcer(groups[i].presentations);
    fmt::print(
        "APCER {:>8}  {} of {} {} presentations passed as live (flagged: {} by device edge, {} "
        "by planar motion)\n",
        percent(ap), ap.errors, ap.presentations, groups[i].name,
        cueCount(groups[i].presentations, "device-border"),
        cueCount(groups[i].presentations, "planar-motion"));
  }
  std::vector<double> cost;
  for (const auto& g : groups) {
    for (const auto& p : g.presentations) {
      cost.push_back(p.msPerFrame);
    }
  }
  if (!cost.empty()) {
    std::sort(cost.begin(), cost.end());
    fmt::print(
        "cost: the liveness check adds {:.2f} ms per frame (median over {} "
        "presentations; p95 {:.2f} ms)\n",
        cost[cost.size() / 2], cost.size(), cost[cost.size() * 95 / 100]);
  }
  if (plotFile) {
    fmt::print("plot: {}\n", *plotFile);
  }
  return kExitOk;
}

}  // namespace

void addEvalPad(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<EvalPadOptions>();
  CLI::App& command = addCommand(
      app, "eval-pad", "presentation-attack detection rates (APCER, BPCER) on videos",
      "Measures presentation-attack detection as ISO/IEC 30107-3 does: APCER per attack type\n"
      "(attacks judged live) and BPCER (live faces judged attacks), with the number of\n"
      "presentations behind each. PATH is a video file or a folder of frames; each run of\n"
      "[liveness] frames consecutive frames with a face is one presentation.\n"
      "Exit 0: evaluated; 2: bad input.");
  command
      .add_option("--live", options->live,
                  "bona fide presentations (repeatable; BPCER has no meaning without one)")
      ->type_name("PATH")
      ->required()
      ->allow_extra_args(false);
  command
      .add_option("--attack", options->attacks,
                  "attack presentations of type TYPE (default \"attack\"; repeatable)")
      ->type_name("[TYPE=]PATH")
      ->allow_extra_args(false);
  command
      .add_option("--synthetic", options->synthetic,
                  "also make print and screen attacks from the photos in DIR (one sub-folder "
                  "per person; types print-synthetic, screen-synthetic)")
      ->type_name("DIR");
  command
      .add_option("--part", options->part,
                  "all, tuning (first half of every source; every other synthetic photo) or "
                  "held-out (the rest)")
      ->type_name("P")
      ->check(oneOf({"all", "tuning", "held-out"}))
      ->capture_default_str();
  command
      .add_option("--config", options->configFile,
                  "liveness thresholds and face settings from this config")
      ->type_name("FILE");
  addReportOptions(command, options->plot, options->force, options->json,
                   "the cue score distributions");
  command.add_flag("--list", options->list, "print every presentation with its cue scores");
  checkWholeNumber(command.add_option("--max-frames", options->maxFrames, "frames read per source")
                       ->type_name("N"),
                   2, 1'000'000);
  command.add_option("--models", options->modelDir, "directory holding the dlib models")
      ->type_name("DIR");
  commands.push_back({&command, [options] { return runEvalPad(*options); }});
}

}  // namespace facegate::cli
