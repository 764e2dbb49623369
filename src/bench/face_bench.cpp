#include "facegate/bench/face_bench.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/badge/qr.hpp"
#include "facegate/bench/machine.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/match.hpp"

namespace facegate::bench {
namespace {

// Two threads: the gate's target board has two cores, and each engine is single-threaded.
constexpr int kThroughputThreads = 2;
constexpr double kThroughputSeconds = 3.0;

// The samples of one face path, in milliseconds.
struct PathSamples {
  std::vector<double> detect;
  std::vector<double> align;
  std::vector<double> embed;
  std::vector<double> total;
  std::vector<double> decision;
};

PathResult summarise(const PathSamples& s) {
  return {bench::summarise(s.detect), bench::summarise(s.align), bench::summarise(s.embed),
          bench::summarise(s.total), bench::summarise(s.decision)};
}

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

  result->decode = bench::summarise(
      timed(ctx.warmup, ctx.iterations, [&] { (void)cv::imdecode(jpeg, cv::IMREAD_COLOR); }));
  result->scan =
      bench::summarise(timed(ctx.warmup, ctx.iterations, [&] { (void)ctx.scanner.scan(grey); }));
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
  result->matchUs = bench::summarise(std::move(matchMs));
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

Result<FaceBenchReport> runFaceBench(const FaceBenchSettings& settings) {
  FaceBenchReport report;
  report.iterations = settings.iterations;
  report.warmup = settings.warmup;
  report.modelDir = settings.modelDir;
  report.faceDir = settings.faceDir;

  auto engine = face::FaceEngine::load(report.modelDir);
  if (!engine) {
    return tl::unexpected(engine.error());
  }
  const std::filesystem::path probeFile = report.faceDir / kProbePhoto;
  const std::filesystem::path templateFile = report.faceDir / kTemplatePhoto;
  auto probe = face::loadImage(probeFile);
  if (!probe) {
    return tl::unexpected(probe.error());
  }
  // The template as the enrolment desk makes it (from one photo: the benchmark times the
  // gate's path, not the template).
  auto builder = enrolment::TemplateBuilder::create(**engine);
  if (!builder) {
    return tl::unexpected(builder.error());
  }
  builder->addFile(templateFile);
  auto enrolled = builder->build();
  if (!enrolled) {
    return tl::unexpected(enrolled.error());
  }
  auto probeFace = largestFace(**engine, *probe, probeFile);
  if (!probeFace) {
    return tl::unexpected(probeFace.error());
  }

  badge::QrScanner scanner;
  BenchContext ctx{**engine, scanner, *enrolled, report.iterations, report.warmup};
  const std::string text = badgeText();
  for (const FrameSpec& frameSpec : kFrames) {
    auto frame = benchFrame(ctx, *probe, *probeFace, frameSpec, text);
    if (!frame) {
      return tl::unexpected(frame.error());
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
    auto another = face::FaceEngine::load(report.modelDir);
    if (!another) {
      return tl::unexpected(another.error());
    }
    engines.push_back(std::move(*another));
  }
  cv::Mat gateFrame;
  if (auto composed = composeFrame(*probe, *probeFace, kFrames[0], text, gateFrame); !composed) {
    return tl::unexpected(composed.error());
  }
  report.throughput = measureThroughput(engines, gateFrame, *enrolled);
  report.peakRssMb = peakRssMb();
  return report;
}

}  // namespace facegate::bench
