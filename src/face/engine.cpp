#include "facegate/face/engine.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "facegate/core/stopwatch.hpp"
#include "facegate/face/models.hpp"
#include "recognition_net.hpp"

namespace facegate::face {

StageTimings& StageTimings::operator+=(const StageTimings& other) noexcept {
  detectMs += other.detectMs;
  alignMs += other.alignMs;
  embedMs += other.embedMs;
  return *this;
}

struct FaceEngine::Impl {
  EngineOptions options;
  dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  dlib::shape_predictor landmarks;
  std::unique_ptr<RecognitionNet> net;
};

FaceEngine::FaceEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceEngine::~FaceEngine() = default;

const EngineOptions& FaceEngine::options() const noexcept {
  return impl_->options;
}

Result<std::unique_ptr<FaceEngine>> FaceEngine::load(const std::filesystem::path& modelDir,
                                                     const EngineOptions& options) {
  if (options.detectMaxSide < 80 || options.detectMaxSide > 4096) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("detectMaxSide {} is outside 80..4096", options.detectMaxSide));
  }
  if (options.retryScoreThreshold &&
      !(std::isfinite(*options.retryScoreThreshold) &&
        *options.retryScoreThreshold < options.detectScoreThreshold)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("retryScoreThreshold {} must be finite and below the detector's "
                            "score threshold {}",
                            *options.retryScoreThreshold, options.detectScoreThreshold));
  }
  if (options.jitters < 0 || options.jitters > kMaxJitters) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("jitters {} is outside 0..{}", options.jitters, kMaxJitters));
  }
  auto landmarkPath = verifiedModelPath(modelDir, kLandmarkModel);
  if (!landmarkPath) {
    return tl::unexpected(landmarkPath.error());
  }
  auto netPath = verifiedModelPath(modelDir, kRecognitionModel);
  if (!netPath) {
    return tl::unexpected(netPath.error());
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  try {
    dlib::deserialize(landmarkPath->string()) >> impl->landmarks;
  } catch (const std::exception& e) {
    return fail(ErrorCode::ModelCorrupt, fmt::format("landmark model {} could not be loaded ({})",
                                                     landmarkPath->string(), e.what()));
  }
  auto net = RecognitionNet::load(*netPath);
  if (!net) {
    return tl::unexpected(net.error());
  }
  impl->net = std::move(*net);
  return std::unique_ptr<FaceEngine>(new FaceEngine(std::move(impl)));
}

namespace {

Result<void> checkFrame(const cv::Mat& bgr) {
  if (bgr.empty()) {
    return fail(ErrorCode::InvalidArgument, "the frame is empty");
  }
  if (bgr.type() != CV_8UC3) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("the frame must be 8-bit BGR (CV_8UC3), got type {}", bgr.type()));
  }
  return {};
}

// Runs the HOG detector on `grey` scaled by `scale` and maps the boxes back.
std::vector<FaceBox> detectAtScale(dlib::frontal_face_detector& detector, const cv::Mat& grey,
                                   double scale, double threshold) {
  cv::Mat scaled;
  if (scale == 1.0) {
    scaled = grey;
  } else {
    // An explicit size: a very thin frame must not round to zero rows (OpenCV throws).
    const cv::Size size(std::max(1, static_cast<int>(std::lround(grey.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(grey.rows * scale))));
    cv::resize(grey, scaled, size, 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  std::vector<dlib::rect_detection> found;
  // cv_image borrows `scaled`'s pixels; both live until the end of this function.
  detector(dlib::cv_image<unsigned char>(scaled), found, threshold);

  const cv::Rect frame(0, 0, grey.cols, grey.rows);
  std::vector<FaceBox> faces;
  faces.reserve(found.size());
  for (const auto& d : found) {
    const auto& r = d.rect;
    const cv::Rect mapped(static_cast<int>(std::lround(static_cast<double>(r.left()) / scale)),
                          static_cast<int>(std::lround(static_cast<double>(r.top()) / scale)),
                          static_cast<int>(std::lround(static_cast<double>(r.width()) / scale)),
                          static_cast<int>(std::lround(static_cast<double>(r.height()) / scale)));
    // Faces at the border extend past it; keep the box as found (the landmark model
    // tolerates it) unless it lies wholly outside the frame.
    if ((mapped & frame).area() > 0) {
      faces.push_back(FaceBox{mapped, d.detection_confidence});
    }
  }
  return faces;
}

}  // namespace

Result<Detection> FaceEngine::detect(const cv::Mat& bgr, StageTimings& ms) {
  if (auto ok = checkFrame(bgr); !ok) {
    return tl::unexpected(ok.error());
  }
  Stopwatch watch;
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  const auto& opt = impl_->options;
  const double longer = std::max(grey.cols, grey.rows);
  const double scale = std::min(1.0, opt.detectMaxSide / longer);

  Detection result;
  result.faces = detectAtScale(impl_->detector, grey, scale, opt.detectScoreThreshold);
  if (result.faces.empty() && opt.upsampleWhenNoFace) {
    // Twice the first scale finds faces half the size: an upsample when the frame was not
    // downscaled, a lighter downscale when it was.
    result.faces = detectAtScale(impl_->detector, grey, scale * 2.0, opt.detectScoreThreshold);
    result.upsampled = true;
  }
  if (result.faces.empty() && opt.retryScoreThreshold) {
    result.faces = detectAtScale(impl_->detector, grey, scale, *opt.retryScoreThreshold);
    if (result.faces.empty() && opt.upsampleWhenNoFace) {
      result.faces = detectAtScale(impl_->detector, grey, scale * 2.0, *opt.retryScoreThreshold);
    }
  }
  std::stable_sort(
      result.faces.begin(), result.faces.end(),
      [](const FaceBox& a, const FaceBox& b) { return a.rect.area() > b.rect.area(); });
  ms.detectMs += watch.elapsedMs();
  return result;
}

Result<Embedding> FaceEngine::describe(const cv::Mat& bgr, const FaceBox& face, StageTimings& ms) {
  if (auto ok = checkFrame(bgr); !ok) {
    return tl::unexpected(ok.error());
  }
  Stopwatch watch;
  // cv_image wraps the caller's pixels (no copy); it must not outlive `bgr`, and does not.
  const dlib::cv_image<dlib::bgr_pixel> image(bgr);
  const dlib::rectangle box(face.rect.x, face.rect.y, face.rect.x + face.rect.width - 1,
                            face.rect.y + face.rect.height - 1);
  const dlib::full_object_detection shape = impl_->landmarks(image, box);
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(image, dlib::get_face_chip_details(shape, kChipSize, kChipPadding),
                           chip);
  ms.alignMs += watch.lap();

  Embedding embedding;
  if (impl_->options.jitters > 0) {
    impl_->net->embedJittered(chip, impl_->options.jitters, embedding);
  } else if (impl_->options.mirrorAverage) {
    impl_->net->embedWithMirror(chip, embedding);
  } else {
    impl_->net->embed(chip, embedding);
  }
  secureWipe(&chip(0, 0), static_cast<std::size_t>(chip.size()) * sizeof(dlib::rgb_pixel));
  ms.embedMs += watch.lap();
  return embedding;
}

namespace {

// Root-mean-square difference, in grey levels, between `region` (CV_32F) and itself reduced
// `k` times (area average) then enlarged back; the smallest over three ways of enlarging
// (nearest, bilinear, bicubic) and, with `allPhases`, over the k x k positions of the
// reduction grid. Near zero when the region is itself an enlargement by k made one of those
// ways (the grid must line up with the enlarged pixels: hence the phases).
double roundTripLoss(const cv::Mat& region, int k, bool allPhases) {
  double best = std::numeric_limits<double>::infinity();
  const int phases = allPhases ? k : 1;
  cv::Mat reduced;
  cv::Mat back;
  for (int oy = 0; oy < phases; ++oy) {
    for (int ox = 0; ox < phases; ++ox) {
      const int w = (region.cols - ox) / k * k;
      const int h = (region.rows - oy) / k * k;
      if (w < k || h < k) {
        continue;
      }
      const cv::Mat part = region(cv::Rect(ox, oy, w, h));
      cv::resize(part, reduced, cv::Size(w / k, h / k), 0, 0, cv::INTER_AREA);
      for (const int how : {cv::INTER_NEAREST, cv::INTER_LINEAR, cv::INTER_CUBIC}) {
        cv::resize(reduced, back, part.size(), 0, 0, how);
        best = std::min(best, cv::norm(part, back, cv::NORM_L2) / std::sqrt(double(w) * h));
      }
    }
  }
  for (cv::Mat* m : {&reduced, &back}) {
    secureWipe(m->data, m->total() * m->elemSize());
  }
  return best;
}

// How much a reduction by k may lose, as a share of what a reduction by 2k loses, for the
// face to be taken as enlarged k times (index k). A photographed face loses a good part of
// what the coarser reduction loses (its detail spreads over all scales): on the 51 fixture
// faces (125-450 px) the share is at least 0.305 for k = 2, 0.392 for 3, 0.428 for 4. An
// enlarged face loses almost nothing: enlargements made from the fixtures reduced to faces of
// 60, 75 and 90 px measured at most 0.237 / 0.254 / 0.275 (k = 2 / 3 / 4) when bicubic,
// 0.252 / 0.319 / 0.300 bilinear, 0.291 / 0.297 / 0.318 Lanczos, 0 nearest. The bounds sit
// between. With them no fixture is taken as enlarged, and of those enlargements (~150 per
// kind and factor) the enrolment checks refuse (as enlarged, a few as too blurry first):
// nearest 152/152 (2x), 149/153 (3x: OpenCV's nearest 3x repeats pixels unevenly), 153/153
// (4x); bilinear 152/152, 152/153, 153/153; bicubic 152/152, 152/153, 153/153; Lanczos
// 142/152, 152/153, 153/153. Not tried: an enlargement blurred, sharpened or saved as JPEG
// afterwards. Not looked for: a factor between 1 and 2.
constexpr std::array<double, 5> kEnlargedLossRatio = {0.0, 0.0, 0.27, 0.33, 0.37};

}  // namespace

FaceQuality assessFace(const cv::Mat& bgr, const FaceBox& face) {
  FaceQuality q;
  q.sidePx = std::min(face.rect.width, face.rect.height);
  q.detailSidePx = q.sidePx;
  const cv::Rect inside = face.rect & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (inside.area() <= 0 || bgr.type() != CV_8UC3) {
    return q;
  }
  // Resampling to a fixed size makes the measure independent of how large the face is;
  // the Laplacian's variance is the usual focus measure (high = sharp edges).
  cv::Mat grey;
  cv::Mat resized;
  cv::Mat laplacian;
  cv::cvtColor(bgr(inside), grey, cv::COLOR_BGR2GRAY);
  cv::resize(grey, resized, cv::Size(static_cast<int>(kChipSize), static_cast<int>(kChipSize)), 0,
             0, cv::INTER_AREA);
  cv::Laplacian(resized, laplacian, CV_64F);
  cv::Scalar mean;
  cv::Scalar stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  q.sharpness = stddev[0] * stddev[0];

  // The largest k whose round trip loses almost nothing next to the one of 2k. (An
  // enlargement by 2 may also pass for one by 3: the detail is then under-estimated, which
  // errs on the side of refusing.)
  cv::Mat region;
  grey.convertTo(region, CV_32F);
  for (const int k : {4, 3, 2}) {
    const double coarser = roundTripLoss(region, 2 * k, false);
    if (!(coarser > 0.0) || !std::isfinite(coarser)) {
      continue;  // a flat region: nothing to tell
    }
    if (roundTripLoss(region, k, true) <
        kEnlargedLossRatio[static_cast<std::size_t>(k)] * coarser) {
      q.enlargement = k;
      q.detailSidePx = q.sidePx / k;
      break;
    }
  }
  secureWipe(grey.data, grey.total() * grey.elemSize());
  secureWipe(region.data, region.total() * region.elemSize());
  secureWipe(resized.data, resized.total() * resized.elemSize());
  secureWipe(laplacian.data, laplacian.total() * laplacian.elemSize());
  return q;
}

Result<FaceDescription> FaceEngine::describeStock(const cv::Mat& bgr) {
  if (auto ok = checkFrame(bgr); !ok) {
    return tl::unexpected(ok.error());
  }
  StageTimings ms;
  Stopwatch watch;
  dlib::matrix<dlib::rgb_pixel> image;
  dlib::assign_image(image, dlib::cv_image<dlib::bgr_pixel>(bgr));  // as load_image() does
  const std::vector<dlib::rectangle> found = impl_->detector(image);
  ms.detectMs = watch.lap();
  if (found.empty()) {
    return fail(ErrorCode::NoFace, "no face was found in the image");
  }
  const auto largest = *std::max_element(
      found.begin(), found.end(), [](const auto& a, const auto& b) { return a.area() < b.area(); });
  const auto shape = impl_->landmarks(image, largest);
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(image, dlib::get_face_chip_details(shape, kChipSize, kChipPadding),
                           chip);
  ms.alignMs = watch.lap();
  Embedding embedding;
  impl_->net->embed(chip, embedding);
  ms.embedMs = watch.lap();
  const FaceBox box{cv::Rect(static_cast<int>(largest.left()), static_cast<int>(largest.top()),
                             static_cast<int>(largest.width()), static_cast<int>(largest.height())),
                    0.0};
  return FaceDescription{std::move(embedding), box, static_cast<int>(found.size()), ms};
}

Result<FaceDescription> FaceEngine::describeLargest(const cv::Mat& bgr) {
  StageTimings ms;
  auto detection = detect(bgr, ms);
  if (!detection) {
    return tl::unexpected(detection.error());
  }
  if (detection->faces.empty()) {
    return fail(ErrorCode::NoFace, "no face was found in the image");
  }
  const FaceBox largest = detection->faces.front();
  auto embedding = describe(bgr, largest, ms);
  if (!embedding) {
    return tl::unexpected(embedding.error());
  }
  return FaceDescription{std::move(*embedding), largest, static_cast<int>(detection->faces.size()),
                         ms};
}

}  // namespace facegate::face
