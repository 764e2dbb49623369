// facegate bench: latency per stage, memory and throughput of the face pipeline on this
// machine (the measuring is in the bench module); this command reads the options and prints
// the report as a table or as JSON.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common.hpp"
#include "facegate/bench/face_bench.hpp"
#include "facegate/bench/machine.hpp"
#include "facegate/cli/command_line.hpp"
#include "facegate/demo/faces.hpp"
#include "facegate/face/models.hpp"

namespace facegate::cli {
namespace {

using bench::FrameResult;
using bench::kProbePhoto;
using bench::kTemplatePhoto;
using bench::PathResult;
using bench::ratio;
using bench::Summary;

constexpr std::string_view kCommand = "bench";

struct BenchOptions {
  int iterations = 30;
  int warmup = 3;
  bool json = false;
  std::optional<std::filesystem::path> modelDir;
  std::optional<std::filesystem::path> faceDir;
};

nlohmann::ordered_json jsonMs(const Summary& s) {
  return {{"p50_ms", s.p50}, {"p95_ms", s.p95}, {"max_ms", s.max}};
}

nlohmann::ordered_json jsonPath(const PathResult& p) {
  return {{"detect", jsonMs(p.detect)},
          {"align", jsonMs(p.align)},
          {"embed", jsonMs(p.embed)},
          {"total", jsonMs(p.total)},
          {"decision", jsonMs(p.decision)}};
}

nlohmann::ordered_json jsonRatio(const FrameResult& f) {
  return {{"detect", ratio(f.stock.detect.p50, f.facegate.detect.p50)},
          {"align", ratio(f.stock.align.p50, f.facegate.align.p50)},
          {"embed", ratio(f.stock.embed.p50, f.facegate.embed.p50)},
          {"total", ratio(f.stock.total.p50, f.facegate.total.p50)},
          {"decision", ratio(f.stock.decision.p50, f.facegate.decision.p50)}};
}

void printJson(const bench::FaceBenchReport& r) {
  nlohmann::ordered_json frames = nlohmann::ordered_json::object();
  for (const FrameResult& f : r.frames) {
    frames[fmt::format("{}x{}", f.spec.width, f.spec.height)] = {
        {"width", f.spec.width},
        {"height", f.spec.height},
        {"face_px", f.spec.facePx},
        {"qr_px", f.qrPx},
        {"jpeg_bytes", f.jpegBytes},
        {"qr_read", f.qrRead},
        {"faces_found", f.facesFound},
        {"distance", f.distance},
        {"decode", jsonMs(f.decode)},
        {"qr_scan", jsonMs(f.scan)},
        {"match",
         {{"p50_us", f.matchUs.p50}, {"p95_us", f.matchUs.p95}, {"max_us", f.matchUs.max}}},
        {"stock", jsonPath(f.stock)},
        {"facegate", jsonPath(f.facegate)},
        {"ratio_stock_to_facegate", jsonRatio(f)},
    };
  }
  const nlohmann::ordered_json out = {
      {"iterations", r.iterations},
      {"warmup", r.warmup},
      {"models", r.modelDir.string()},
      {"faces", r.faceDir.string()},
      {"blas", r.blas},
      {"blas_is_reference", bench::isReferenceBlas(r.blas)},
      {"blas_mapped", r.blasMapped},
      {"frames", frames},
      {"peak_rss_mb_one_engine", r.peakRssOneEngineMb},
      {"peak_rss_mb", r.peakRssMb},
      {"throughput",
       {{"threads", r.throughput.perThread.size()},
        {"seconds", r.throughput.seconds},
        {"verifications_per_thread", r.throughput.perThread},
        {"verifications_per_second", r.throughput.perSecond}}},
  };
  fmt::print("{}\n", out.dump());
}

void printRow(std::string_view name, const Summary& s) {
  fmt::print("  {:<28}{:>9.2f}{:>9.2f}{:>9.2f}\n", name, s.p50, s.p95, s.max);
}

void printPathRow(std::string_view name, const Summary& stock, const Summary& ours) {
  fmt::print("  {:<22}{:>8.2f}{:>8.2f}{:>8.2f}  {:>8.2f}{:>8.2f}{:>8.2f}  {:>7.2f}x\n", name,
             stock.p50, stock.p95, stock.max, ours.p50, ours.p95, ours.max,
             ratio(stock.p50, ours.p50));
}

void printTable(const bench::FaceBenchReport& r) {
  fmt::print("facegate bench: {} iterations after {} warm-up per stage\n", r.iterations, r.warmup);
  fmt::print("  models {}\n  faces  {} ({} in front of the camera, {} enrolled)\n",
             r.modelDir.string(), r.faceDir.string(), kProbePhoto, kTemplatePhoto);
  fmt::print("  BLAS   {}\n", r.blas.empty() ? "none mapped (dlib's own matrix code)" : r.blas);
  for (const std::string& path : r.blasMapped) {
    if (path != r.blas) {
      fmt::print("         (also mapped, unused: {})\n", path);
    }
  }
  for (const FrameResult& f : r.frames) {
    fmt::print(
        "\n{}x{} frame: face {} px, QR {} px ({}), JPEG {} KiB, {} face(s) found, "
        "distance to template {:.3f}\n",
        f.spec.width, f.spec.height, f.spec.facePx, f.qrPx, f.qrRead ? "read" : "NOT READ",
        f.jpegBytes / 1024, f.facesFound, f.distance);
    fmt::print("  {:<28}{:>9}{:>9}{:>9}\n", "stage (ms)", "p50", "p95", "max");
    printRow("frame decode (JPEG)", f.decode);
    printRow("QR scan (grey frame)", f.scan);
    fmt::print("  {:<28}{:>9.3f}{:>9.3f}{:>9.3f}  (microseconds)\n", "match (distance)",
               f.matchUs.p50, f.matchUs.p95, f.matchUs.max);
    fmt::print("  {:<22}{:>24}  {:>24}  {:>8}\n", "", "stock dlib recipe", "facegate", "stock/");
    fmt::print("  {:<22}{:>8}{:>8}{:>8}  {:>8}{:>8}{:>8}  {:>8}\n", "stage (ms)", "p50", "p95",
               "max", "p50", "p95", "max", "facegate");
    printPathRow("face detection", f.stock.detect, f.facegate.detect);
    printPathRow("landmarks + alignment", f.stock.align, f.facegate.align);
    printPathRow("embedding", f.stock.embed, f.facegate.embed);
    printPathRow("total (describe)", f.stock.total, f.facegate.total);
    printPathRow("end-to-end decision", f.stock.decision, f.facegate.decision);
  }
  long total = 0;
  for (const long n : r.throughput.perThread) {
    total += n;
  }
  fmt::print("\npeak RSS {:.1f} MB with one engine, {:.1f} MB with one per thread ({})\n",
             r.peakRssOneEngineMb, r.peakRssMb, r.throughput.perThread.size());
  fmt::print(
      "throughput: {} threads, {} verifications in {:.1f} s (640x480, describeLargest + "
      "distance) = {:.1f} per second\n",
      r.throughput.perThread.size(), total, r.throughput.seconds, r.throughput.perSecond);
}

int runBench(const BenchOptions& options) {
  bench::FaceBenchSettings settings;
  settings.iterations = options.iterations;
  settings.warmup = options.warmup;
  auto modelDir = face::findModelDir(options.modelDir);
  if (!modelDir) {
    return reportError(kCommand, modelDir.error());
  }
  settings.modelDir = *modelDir;
  if (options.faceDir) {
    settings.faceDir = *options.faceDir;
  } else {
    auto faces = demo::findDemoFaces();
    if (!faces) {
      return reportError(kCommand, faces.error());
    }
    settings.faceDir = *faces;
  }

  auto report = bench::runFaceBench(settings);
  if (!report) {
    return reportError(kCommand, report.error());
  }
  for (const FrameResult& frame : report->frames) {
    if (!frame.qrRead) {
      fmt::print(stderr, "facegate bench: warning: the QR code of the {}x{} frame was not read\n",
                 frame.spec.width, frame.spec.height);
    }
  }
  if (bench::isReferenceBlas(report->blas)) {
    fmt::print(
        stderr,
        "facegate bench: WARNING: dlib is using the reference BLAS ({}); the face "
        "embedding will be ~15x slower than with OpenBLAS. Fix: sudo apt-get install "
        "libopenblas0-pthread (it registers itself as libblas.so.3), or if it is installed, sudo "
        "update-alternatives --config libblas.so.3-x86_64-linux-gnu.\n",
        report->blas);
  }
  if (options.json) {
    printJson(*report);
  } else {
    printTable(*report);
  }
  return kExitOk;
}

}  // namespace

void addBench(CLI::App& app, Commands& commands) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App& command = addCommand(
      app, std::string(kCommand), "latency per stage, memory and throughput on this machine",
      "Measures each stage of a verification on 640x480 and 1280x720 frames (p50, p95, max),\n"
      "the stock dlib recipe against facegate's path in the same run, peak memory,\n"
      "verifications per second on two threads, and which BLAS library is in use.");
  checkWholeNumber(
      command.add_option("--iterations", options->iterations, "timed runs of each stage")
          ->type_name("N"),
      1, 100000);
  checkWholeNumber(
      command.add_option("--warmup", options->warmup, "untimed runs before them")->type_name("N"),
      0, 1000);
  command.add_flag("--json", options->json, "print one JSON object on stdout");
  command
      .add_option("--models", options->modelDir,
                  "directory holding the dlib models (default: installed, then models/)")
      ->type_name("DIR");
  command
      .add_option("--faces", options->faceDir,
                  "the demo's photos, one folder per person (default: installed)")
      ->type_name("DIR");
  commands.push_back({&command, [options] { return runBench(*options); }});
}

}  // namespace facegate::cli
