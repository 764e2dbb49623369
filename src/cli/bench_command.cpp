// facegate bench: latency per stage, memory and throughput of the face pipeline on this
// machine, on frames composed like a gate camera sees them, with the stock dlib recipe
// measured side by side in the same run.
#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "arguments.hpp"
#include "commands.hpp"
#include "common.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/core/stopwatch.hpp"
#include "facegate/demo/faces.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/match.hpp"
#include "facegate/face/models.hpp"

namespace facegate::cli {
namespace {

constexpr std::string_view kCommand = "bench";

constexpr std::string_view kUsage =
    "usage: facegate bench [--iterations N] [--warmup N] [--json] [--models DIR] [--faces DIR]\n"
    "  Measures each stage of a verification on 640x480 and 1280x720 frames (p50, p95, max),\n"
    "  the stock dlib recipe against facegate's path in the same run, peak memory,\n"
    "  verifications per second on two threads, and which BLAS library is in use.\n"
    "  --iterations N  timed runs of each stage (1..100000, default 30)\n"
    "  --warmup N      untimed runs before them (0..1000, default 3)\n"
    "  --json          print one JSON object on stdout\n"
    "  --models DIR    directory holding the dlib models (default: installed, then models/)\n"
    "  --faces DIR     the demo's photos, one folder per person (default: installed)\n";

// The photo put in front of the camera and the one standing for the enrolled template.
constexpr std::string_view kProbePhoto = "penny/penny_5.png";
constexpr std::string_view kTemplatePhoto = "penny/penny_1.png";

// Two threads: the gate's target board has two cores, and each engine is single-threaded.
constexpr int kThroughputThreads = 2;
constexpr double kThroughputSeconds = 3.0;

// dlib links whichever libblas.so.3 the alternatives system points at; the reference
// implementation lives in this directory and is ~15x slower for the embedding network.
constexpr std::string_view kReferenceBlasDir = "/usr/lib/x86_64-linux-gnu/blas/";

struct FrameSpec {
  int width;
  int height;
  int facePx;    // side of the face box in the composed frame
  int qrModule;  // pixels per QR module
};

// A gate camera: the pupil a step away from the lens, the badge held low in a corner.
constexpr std::array<FrameSpec, 2> kFrames = {{
    {640, 480, 200, 3},
    {1280, 720, 300, 4},
}};

struct Summary {
  double p50 = 0.0;
  double p95 = 0.0;
  double max = 0.0;
};

Summary summarise(std::vector<double> samples) {
  if (samples.empty()) {
    return {};
  }
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double p) {
    const auto i =
        static_cast<std::size_t>(std::llround(p * static_cast<double>(samples.size() - 1)));
    return samples[std::min(i, samples.size() - 1)];
  };
  return {at(0.50), at(0.95), samples.back()};
}

double ratio(double stock, double ours) {
  return ours > 0.0 ? stock / ours : 0.0;
}

// The samples of one face path (stock or facegate), in milliseconds.
struct PathSamples {
  std::vector<double> detect;
  std::vector<double> align;
  std::vector<double> embed;
  std::vector<double> total;     // the describe call, wall clock
  std::vector<double> decision;  // decode + scan + describe + match
};

struct PathResult {
  Summary detect;
  Summary align;
  Summary embed;
  Summary total;
  Summary decision;
};

PathResult summarise(const PathSamples& s) {
  return {summarise(s.detect), summarise(s.align), summarise(s.embed), summarise(s.total),
          summarise(s.decision)};
}

struct FrameResult {
  FrameSpec spec{};
  std::size_t jpegBytes = 0;
  int qrPx = 0;
  bool qrRead = false;
  int facesFound = 0;
  double distance = 0.0;
  Summary decode;
  Summary scan;
  Summary matchUs;  // microseconds
  PathResult stock;
  PathResult facegate;
};

// 200 characters of the QR alphanumeric set, the length of an on-badge payload.
std::string badgeText() {
  constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  std::string text;
  for (std::size_t i = 0; i < 200; ++i) {
    text.push_back(kAlphabet[(i * 7 + 3) % kAlphabet.size()]);
  }
  return text;
}

// A corridor-like background: a lit gradient, a door frame, sensor noise. A flat colour
// would make the JPEG and the HOG scan unrealistically cheap.
cv::Mat background(cv::Size size) {
  const cv::Mat corners =
      (cv::Mat_<cv::Vec3b>(2, 2) << cv::Vec3b(150, 165, 175), cv::Vec3b(120, 140, 160),
       cv::Vec3b(95, 105, 115), cv::Vec3b(70, 80, 95));
  cv::Mat gradient;
  cv::resize(corners, gradient, size, 0, 0, cv::INTER_LINEAR);
  const int w = size.width;
  const int h = size.height;
  cv::rectangle(gradient, cv::Rect(w / 10, h / 12, w / 4, h), cv::Scalar(60, 75, 90), w / 80);
  cv::line(gradient, cv::Point(0, h * 5 / 6), cv::Point(w, h * 5 / 6), cv::Scalar(50, 55, 60), 2);
  cv::RNG rng(20260101);  // fixed: every run measures the same frame
  cv::Mat noise(size, CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  cv::Mat wide;
  gradient.convertTo(wide, CV_16SC3);
  wide += noise;
  cv::Mat frame;
  wide.convertTo(frame, CV_8UC3);  // saturates
  return frame;
}

// The head of `photo` around `face`, scaled so the face box is `spec.facePx` wide, right of
// centre; the QR code of `text` in the lower left corner.
Result<FrameResult> composeFrame(const cv::Mat& photo, const face::FaceBox& face,
                                 const FrameSpec& spec, const std::string& text, cv::Mat& out) {
  out = background(cv::Size(spec.width, spec.height));
  const cv::Rect photoRect(0, 0, photo.cols, photo.rows);
  const cv::Point2d centre(face.rect.x + face.rect.width / 2.0,
                           face.rect.y + face.rect.height / 2.0);
  const double half = face.rect.width * 0.75;  // hair, ears and chin: a head, not a box
  const cv::Rect head =
      cv::Rect(cv::Point(static_cast<int>(centre.x - half), static_cast<int>(centre.y - half)),
               cv::Point(static_cast<int>(centre.x + half), static_cast<int>(centre.y + half))) &
      photoRect;
  const double scale = static_cast<double>(spec.facePx) / face.rect.width;
  cv::Mat scaled;
  cv::resize(photo(head), scaled, cv::Size(), scale, scale,
             scale < 1.0 ? cv::INTER_AREA : cv::INTER_CUBIC);
  const cv::Point at(static_cast<int>(spec.width * 0.6 - (centre.x - head.x) * scale),
                     static_cast<int>(spec.height * 0.45 - (centre.y - head.y) * scale));
  const cv::Rect target = cv::Rect(at, scaled.size()) & cv::Rect(0, 0, spec.width, spec.height);
  scaled(cv::Rect(target.tl() - at, target.size())).copyTo(out(target));

  auto qr = badge::renderQr(text, spec.qrModule, 4);
  if (!qr) {
    return tl::unexpected(qr.error());
  }
  cv::Mat qrBgr;
  cv::cvtColor(*qr, qrBgr, cv::COLOR_GRAY2BGR);
  const int margin = spec.height / 48;
  qrBgr.copyTo(out(cv::Rect(margin, spec.height - margin - qrBgr.rows, qrBgr.cols, qrBgr.rows)));
  FrameResult result;
  result.spec = spec;
  result.qrPx = qrBgr.cols;
  return result;
}

// Runs `body` warmup times untimed, then `iterations` times, returning the milliseconds.
template <typename Body>
std::vector<double> timed(int warmup, int iterations, Body&& body) {
  for (int i = 0; i < warmup; ++i) {
    body();
  }
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    Stopwatch watch;
    body();
    samples.push_back(watch.elapsedMs());
  }
  return samples;
}

struct BenchContext {
  face::FaceEngine& engine;
  badge::QrScanner& scanner;
  const face::Embedding& enrolled;
  int iterations;
  int warmup;
};

Result<FrameResult> benchFrame(BenchContext& ctx, const cv::Mat& photo, const face::FaceBox& face,
                               const FrameSpec& spec, const std::string& text) {
  cv::Mat frame;
  auto result = composeFrame(photo, face, spec, text, frame);
  if (!result) {
    return result;
  }
  const std::string size = fmt::format("{}x{}", spec.width, spec.height);
  std::vector<uchar> jpeg;
  // Quality 90: what a USB camera's MJPEG stream is close to.
  cv::imencode(".jpg", frame, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  result->jpegBytes = jpeg.size();
  cv::Mat grey;
  cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
  result->qrRead = !ctx.scanner.scan(grey).empty();

  auto ours = ctx.engine.describeLargest(frame);
  auto stock = ctx.engine.describeStock(frame);
  if (!ours || !stock) {
    return fail(
        ErrorCode::NoFace,
        fmt::format("no face was found in the {} benchmark frame made from {}", size, kProbePhoto));
  }
  result->facesFound = ours->faceCount;
  result->distance = face::distance(ours->embedding, ctx.enrolled);

  result->decode = summarise(
      timed(ctx.warmup, ctx.iterations, [&] { (void)cv::imdecode(jpeg, cv::IMREAD_COLOR); }));
  result->scan =
      summarise(timed(ctx.warmup, ctx.iterations, [&] { (void)ctx.scanner.scan(grey); }));
  // One distance takes well under a microsecond: time batches and report per call.
  constexpr int kMatchBatch = 1000;
  double sink = 0.0;
  auto matchMs = timed(ctx.warmup, ctx.iterations, [&] {
    for (int i = 0; i < kMatchBatch; ++i) {
      sink += face::distance(ours->embedding, ctx.enrolled);
    }
  });
  for (double& ms : matchMs) {
    ms *= 1000.0 / kMatchBatch;
  }
  result->matchUs = summarise(std::move(matchMs));
  if (sink < 0.0) {  // never: the sum is used so that an optimiser keeps the calls
    return fail(ErrorCode::Internal, "a face distance came out negative");
  }

  // The two paths alternate within each iteration so that a noisy neighbour or a frequency
  // change hits both alike: their ratio is the figure to trust on a busy machine.
  const auto describe = [&](bool useStock, PathSamples& s, bool record) {
    Stopwatch watch;
    auto d = useStock ? ctx.engine.describeStock(frame) : ctx.engine.describeLargest(frame);
    const double total = watch.elapsedMs();
    if (record && d) {
      s.detect.push_back(d->ms.detectMs);
      s.align.push_back(d->ms.alignMs);
      s.embed.push_back(d->ms.embedMs);
      s.total.push_back(total);
    }
  };
  const auto decide = [&](bool useStock, PathSamples& s, bool record) {
    Stopwatch watch;
    const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
    const bool badgeSeen = !ctx.scanner.scanBgr(decoded).empty();
    auto d = useStock ? ctx.engine.describeStock(decoded) : ctx.engine.describeLargest(decoded);
    const bool match = d && face::isMatch(face::distance(d->embedding, ctx.enrolled),
                                          face::kDefaultMatchThreshold);
    const double ms = watch.elapsedMs();
    if (record && badgeSeen && d) {
      s.decision.push_back(ms);
    }
    return match;
  };
  PathSamples stockSamples;
  PathSamples oursSamples;
  for (int i = 0; i < ctx.warmup + ctx.iterations; ++i) {
    const bool record = i >= ctx.warmup;
    const bool stockFirst = i % 2 == 0;
    describe(stockFirst, stockFirst ? stockSamples : oursSamples, record);
    describe(!stockFirst, stockFirst ? oursSamples : stockSamples, record);
    (void)decide(stockFirst, stockFirst ? stockSamples : oursSamples, record);
    (void)decide(!stockFirst, stockFirst ? oursSamples : stockSamples, record);
  }
  result->stock = summarise(stockSamples);
  result->facegate = summarise(oursSamples);
  return result;
}

// The verifications per second of `engines.size()` threads, each with its own engine,
// running describeLargest + distance on `frame` for kThroughputSeconds.
struct Throughput {
  std::vector<long> perThread;
  double seconds = 0.0;
  double perSecond = 0.0;
};

Throughput measureThroughput(std::vector<std::unique_ptr<face::FaceEngine>>& engines,
                             const cv::Mat& frame, const face::Embedding& enrolled) {
  Throughput result;
  result.perThread.assign(engines.size(), 0);
  std::atomic<bool> stop{false};
  Stopwatch watch;
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < engines.size(); ++t) {
      threads.emplace_back([&, t] {
        long done = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          auto d = engines[t]->describeLargest(frame);
          if (d && face::distance(d->embedding, enrolled) >= 0.0) {
            ++done;
          }
        }
        result.perThread[t] = done;
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(kThroughputSeconds));
    stop = true;
  }  // joins: each thread finishes the verification it was in
  result.seconds = watch.elapsedMs() / 1000.0;
  long total = 0;
  for (const long n : result.perThread) {
    total += n;
  }
  result.perSecond = static_cast<double>(total) / result.seconds;
  return result;
}

double peakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// Every BLAS library mapped into this process, as the dynamic loader resolved them (through
// the alternatives symlinks): libblas.so.3 and OpenBLAS's own library can both be there.
std::vector<std::string> mappedBlas() {
  std::vector<std::string> found;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) {
      continue;
    }
    std::string path = line.substr(slash);
    const std::string name = std::filesystem::path(path).filename().string();
    const bool blas = name.starts_with("libblas") || name.starts_with("libopenblas");
    if (blas && std::find(found.begin(), found.end(), path) == found.end()) {
      found.push_back(std::move(path));
    }
  }
  return found;
}

// The library whose cblas_sgemm dlib's network calls: the first in the global lookup order,
// which is what dlib's own references bind to. Empty when no BLAS is loaded.
std::string blasInUse() {
  void* const sgemm = dlsym(RTLD_DEFAULT, "cblas_sgemm");
  Dl_info info{};
  if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::error_code ec;
  const auto real = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : real.string();
}

bool isReferenceBlas(const std::string& path) {
  return path.starts_with(kReferenceBlasDir);
}

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

struct Report {
  int iterations = 0;
  int warmup = 0;
  std::filesystem::path models;
  std::filesystem::path faces;
  std::string blas;
  std::vector<std::string> blasMapped;
  std::vector<FrameResult> frames;
  double peakRssOneEngineMb = 0.0;
  double peakRssMb = 0.0;
  Throughput throughput;
};

void printJson(const Report& r) {
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
      {"models", r.models.string()},
      {"faces", r.faces.string()},
      {"blas", r.blas},
      {"blas_is_reference", isReferenceBlas(r.blas)},
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

void printTable(const Report& r) {
  fmt::print("facegate bench: {} iterations after {} warm-up per stage\n", r.iterations, r.warmup);
  fmt::print("  models {}\n  faces  {} ({} in front of the camera, {} enrolled)\n",
             r.models.string(), r.faces.string(), kProbePhoto, kTemplatePhoto);
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

Result<face::FaceBox> largestFace(face::FaceEngine& engine, const cv::Mat& photo,
                                  const std::filesystem::path& file) {
  face::StageTimings ms;
  auto detection = engine.detect(photo, ms);
  if (!detection) {
    return tl::unexpected(detection.error());
  }
  if (detection->faces.empty()) {
    return fail(ErrorCode::NoFace, fmt::format("no face was found in {}", file.string()));
  }
  return detection->faces.front();
}

}  // namespace

int runBench(std::span<const std::string_view> args) {
  const Arguments::Spec spec{.flags = {"--json"},
                             .valued = {"--iterations", "--warmup", "--models", "--faces"},
                             .repeatable = {},
                             .minPositional = 0,
                             .maxPositional = 0};
  Arguments parsed;
  if (auto exit = parseOrUsage(kCommand, args, spec, kUsage, parsed)) {
    return *exit;
  }
  Report report;
  report.iterations = 30;
  report.warmup = 3;
  if (const auto text = parsed.value("--iterations")) {
    auto value = parseWholeNumber("--iterations", *text, 1, 100000);
    if (!value) {
      return reportError(kCommand, value.error());
    }
    report.iterations = static_cast<int>(*value);
  }
  if (const auto text = parsed.value("--warmup")) {
    auto value = parseWholeNumber("--warmup", *text, 0, 1000);
    if (!value) {
      return reportError(kCommand, value.error());
    }
    report.warmup = static_cast<int>(*value);
  }
  std::optional<std::filesystem::path> modelFlag;
  if (const auto dir = parsed.value("--models")) {
    modelFlag = *dir;
  }
  auto modelDir = face::findModelDir(modelFlag);
  if (!modelDir) {
    return reportError(kCommand, modelDir.error());
  }
  report.models = *modelDir;
  if (const auto dir = parsed.value("--faces")) {
    report.faces = *dir;
  } else {
    auto faces = demo::findDemoFaces();
    if (!faces) {
      return reportError(kCommand, faces.error());
    }
    report.faces = *faces;
  }

  auto engine = face::FaceEngine::load(report.models);
  if (!engine) {
    return reportError(kCommand, engine.error());
  }
  const std::filesystem::path probeFile = report.faces / kProbePhoto;
  const std::filesystem::path templateFile = report.faces / kTemplatePhoto;
  auto probe = face::loadImage(probeFile);
  if (!probe) {
    return reportError(kCommand, probe.error());
  }
  // The template as the enrolment desk makes it (from one photo: the benchmark times the
  // gate's path, not the template).
  auto builder = enrolment::TemplateBuilder::create(**engine);
  if (!builder) {
    return reportError(kCommand, builder.error());
  }
  builder->addFile(templateFile);
  auto enrolled = builder->build();
  if (!enrolled) {
    return reportError(kCommand, enrolled.error());
  }
  auto probeFace = largestFace(**engine, *probe, probeFile);
  if (!probeFace) {
    return reportError(kCommand, probeFace.error());
  }

  badge::QrScanner scanner;
  BenchContext ctx{**engine, scanner, *enrolled, report.iterations, report.warmup};
  const std::string text = badgeText();
  for (const FrameSpec& frameSpec : kFrames) {
    auto frame = benchFrame(ctx, *probe, *probeFace, frameSpec, text);
    if (!frame) {
      return reportError(kCommand, frame.error());
    }
    if (!frame->qrRead) {
      fmt::print(stderr, "facegate bench: warning: the QR code of the {}x{} frame was not read\n",
                 frameSpec.width, frameSpec.height);
    }
    report.frames.push_back(*frame);
  }
  // Read after the network has run: the BLAS library is mapped by then whatever the linking.
  report.blasMapped = mappedBlas();
  report.blas = blasInUse();
  if (report.blas.empty() && !report.blasMapped.empty()) {
    report.blas = report.blasMapped.front();
  }
  report.peakRssOneEngineMb = peakRssMb();

  std::vector<std::unique_ptr<face::FaceEngine>> engines;
  engines.push_back(std::move(*engine));
  for (int i = 1; i < kThroughputThreads; ++i) {
    auto another = face::FaceEngine::load(report.models);
    if (!another) {
      return reportError(kCommand, another.error());
    }
    engines.push_back(std::move(*another));
  }
  cv::Mat gateFrame;
  if (auto composed = composeFrame(*probe, *probeFace, kFrames[0], text, gateFrame); !composed) {
    return reportError(kCommand, composed.error());
  }
  report.throughput = measureThroughput(engines, gateFrame, *enrolled);
  report.peakRssMb = peakRssMb();

  if (isReferenceBlas(report.blas)) {
    fmt::print(
        stderr,
        "facegate bench: WARNING: dlib is using the reference BLAS ({}); the face "
        "embedding will be ~15x slower than with OpenBLAS. Fix: sudo apt-get install "
        "libopenblas0-pthread (it registers itself as libblas.so.3), or if it is installed, sudo "
        "update-alternatives --config libblas.so.3-x86_64-linux-gnu.\n",
        report.blas);
  }
  if (parsed.has("--json")) {
    printJson(report);
  } else {
    printTable(report);
  }
  return kExitOk;
}

}  // namespace facegate::cli
