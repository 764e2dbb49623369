// facegate eval-pad: how often do photos and replays pass as live, and live faces get flagged?
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "arguments.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "facegate/app/settings.hpp"
#include "facegate/config/config.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/core/terminal_text.hpp"
#include "facegate/eval/pad.hpp"
#include "facegate/eval/photo_set.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/models.hpp"
#include "facegate/liveness/synthetic.hpp"

namespace facegate::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    "usage: facegate eval-pad --live PATH... --attack [TYPE=]PATH... [--synthetic DIR]\n"
    "                         [--part all|tuning|held-out] [--config FILE]\n"
    "                         [--plot FILE [--force]] [--json] [--max-frames N] [--models DIR]\n"
    "  Measures presentation-attack detection as ISO/IEC 30107-3 does: APCER per attack type\n"
    "  (attacks judged live) and BPCER (live faces judged attacks), with the number of\n"
    "  presentations behind each. PATH is a video file or a folder of frames; each run of\n"
    "  [liveness] frames consecutive frames with a face is one presentation.\n"
    "  Exit 0: evaluated; 2: bad input.\n"
    "  --live PATH          bona fide presentations (repeatable)\n"
    "  --attack [TYPE=]PATH attack presentations of type TYPE (default \"attack\"; repeatable)\n"
    "  --synthetic DIR      also make print and screen attacks from the photos in DIR (one\n"
    "                       sub-folder per person; types print-synthetic, screen-synthetic)\n"
    "  --part P             all (default), tuning (first half of every source; every other\n"
    "                       synthetic photo) or held-out (the rest)\n"
    "  --config FILE        liveness thresholds and face settings from this config\n"
    "  --plot FILE          write the cue score distributions as a PNG (0600)\n"
    "  --force              replace FILE if it exists (by a new file, never through a link)\n"
    "  --json               print one JSON object on stdout\n"
    "  --list               print every presentation with its cue scores\n"
    "  --max-frames N       frames read per source (default 2000)\n"
    "  --models DIR         directory holding the dlib models\n";

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

}  // namespace

int runEvalPad(std::span<const std::string_view> args) {
  const Arguments::Spec spec{
      .flags = {"--json", "--list", "--force", "--help"},
      .valued = {"--synthetic", "--part", "--config", "--plot", "--max-frames", "--models"},
      .repeatable = {"--live", "--attack"},
      .minPositional = 0,
      .maxPositional = 0};
  auto parsed = Arguments::parse(args, spec);
  if (!parsed) {
    fmt::print(stderr, "facegate eval-pad: {}.\n{}", parsed.error().message, kUsage);
    return kExitUndecided;
  }
  if (parsed->has("--help")) {
    fmt::print("{}", kUsage);
    return kExitOk;
  }
  std::vector<Source> sources;
  for (const auto& live : parsed->values("--live")) {
    if (live.empty()) {
      return badInput("--live needs a video file or a folder of frames");
    }
    sources.push_back({"live", live});
  }
  for (const auto& attack : parsed->values("--attack")) {
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
  const std::optional<std::string> synthetic = parsed->value("--synthetic");
  if (std::none_of(sources.begin(), sources.end(), [](auto& s) { return s.type == "live"; })) {
    return badInput("at least one --live source is needed (BPCER has no meaning without one)");
  }
  if (std::none_of(sources.begin(), sources.end(), [](auto& s) { return s.type != "live"; }) &&
      !synthetic) {
    return badInput("at least one --attack source or --synthetic DIR is needed");
  }
  eval::SetPart setPart = eval::SetPart::All;
  std::string partName = "all";
  if (const auto p = parsed->value("--part")) {
    partName = *p;
    if (*p == "tuning") {
      setPart = eval::SetPart::Tuning;
    } else if (*p == "held-out") {
      setPart = eval::SetPart::HeldOut;
    } else if (*p != "all") {
      return badInput(fmt::format("--part {}: expected all, tuning or held-out", *p));
    }
  }
  std::int64_t maxFrames = 2000;
  if (const auto text = parsed->value("--max-frames")) {
    auto value = parseWholeNumber("--max-frames", *text, 2, 1'000'000);
    if (!value) {
      return badInput(value.error().message);
    }
    maxFrames = *value;
  }
  config::Config cfg = config::defaults();
  if (const auto file = parsed->value("--config")) {
    auto loaded = config::loadConfig(*file);
    if (!loaded) {
      return badInput(loaded.error().message);
    }
    cfg = *loaded;
  }
  const liveness::Settings settings = app::gateSettingsFrom(cfg).liveness;
  auto plot = plotOutput(*parsed);
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
  std::optional<fs::path> modelFlag;
  if (const auto models = parsed->value("--models")) {
    modelFlag = *models;
  }
  auto modelDir = face::findModelDir(modelFlag);
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
  if (parsed->has("--json")) {
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
  if (parsed->has("--list")) {
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

}  // namespace facegate::cli
