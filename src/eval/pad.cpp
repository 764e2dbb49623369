#include "facegate/eval/pad.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "facegate/core/stopwatch.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/face/track.hpp"
#include "plot_file.hpp"

namespace facegate::eval {
namespace {

namespace fs = std::filesystem;

// "frame_2" < "frame_10": runs of digits compare by value.
bool naturalLess(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) != 0 &&
        std::isdigit(static_cast<unsigned char>(b[j])) != 0) {
      std::size_t ei = i;
      std::size_t ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei])) != 0) {
        ++ei;
      }
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej])) != 0) {
        ++ej;
      }
      std::string_view na(a.data() + i, ei - i);
      std::string_view nb(b.data() + j, ej - j);
      while (na.size() > 1 && na.front() == '0') {
        na.remove_prefix(1);
      }
      while (nb.size() > 1 && nb.front() == '0') {
        nb.remove_prefix(1);
      }
      if (na.size() != nb.size()) {
        return na.size() < nb.size();
      }
      if (na != nb) {
        return na < nb;
      }
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) {
        return a[i] < b[j];
      }
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

bool isImageFile(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

Result<std::vector<cv::Mat>> readSequence(const fs::path& path, int maxFrames) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return fail(ErrorCode::NotFound, fmt::format("{} does not exist", path.string()));
  }
  std::vector<cv::Mat> frames;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_regular_file() && isImageFile(entry.path())) {
        names.push_back(entry.path().filename().string());
      }
    }
    if (ec) {
      return fail(ErrorCode::StorageFailure,
                  fmt::format("cannot list {}: {}", path.string(), ec.message()));
    }
    std::sort(names.begin(), names.end(), naturalLess);
    for (const auto& name : names) {
      if (static_cast<int>(frames.size()) >= maxFrames) {
        break;
      }
      auto image = face::loadImage(path / name);
      if (!image) {
        return tl::unexpected(image.error());
      }
      frames.push_back(std::move(*image));
    }
    if (frames.empty()) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{} holds no .jpg or .png frames", path.string()));
    }
    return frames;
  }
  cv::VideoCapture video(path.string(), cv::CAP_FFMPEG);
  if (!video.isOpened()) {
    return fail(
        ErrorCode::InvalidArgument,
        fmt::format("{} is neither a folder of images nor a video FFmpeg can read", path.string()));
  }
  cv::Mat frame;
  while (static_cast<int>(frames.size()) < maxFrames && video.read(frame)) {
    if (frame.empty() || frame.type() != CV_8UC3 || frame.cols > 4096 || frame.rows > 4096) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("{}: frame {} is not an 8-bit colour frame up to 4096x4096",
                              path.string(), frames.size()));
    }
    frames.push_back(frame.clone());
  }
  if (frames.empty()) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{}: no frame could be decoded", path.string()));
  }
  return frames;
}

Result<std::vector<PadPresentation>> judgeSequence(face::FaceEngine& engine,
                                                   const liveness::Settings& settings,
                                                   const std::vector<cv::Mat>& frames,
                                                   int minFacePx, const std::string& source) {
  std::vector<PadPresentation> out;
  liveness::LivenessCheck check(settings);
  // The face is followed from frame to frame as the gate follows it: a presentation is the
  // frames of one face, never two faces merged.
  face::FaceTrack track;
  const auto frameTime = [](std::size_t i) {
    return face::FaceTrack::TimePoint{} + std::chrono::milliseconds(33) * static_cast<long>(i);
  };
  int first = -1;
  double spentMs = 0.0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    face::StageTimings ms;
    auto detection = engine.detect(frames[i], ms);
    if (!detection) {
      return tl::unexpected(detection.error());
    }
    std::vector<cv::Rect> usable;
    for (const auto& f : detection->faces) {
      if (std::min(f.rect.width, f.rect.height) >= minFacePx) {
        usable.push_back(f.rect);
      }
    }
    // Frames are taken as consecutive at 30 fps: only the number of frames a face is missing
    // matters here.
    const auto followed = track.update(usable, frameTime(i), frames[i].size());
    if (followed.step == face::FaceTrack::Step::Lost ||
        followed.step == face::FaceTrack::Step::Restarted) {
      check.reset();
      first = -1;
      spentMs = 0.0;
    }
    if (!followed.index) {
      continue;
    }
    if (first < 0) {
      first = static_cast<int>(i);
    }
    cv::Mat grey;
    cv::cvtColor(frames[i], grey, cv::COLOR_BGR2GRAY);
    const Stopwatch watch;
    auto judged = check.add(grey, usable[*followed.index]);
    spentMs += watch.elapsedMs();
    if (judged) {
      out.push_back({fmt::format("{} frames {}-{}", source, first, i), first, *judged,
                     spentMs / judged->scores.frames});
      first = -1;
      spentMs = 0.0;
    }
  }
  return out;
}

PadRate apcer(const std::vector<PadPresentation>& attacks) {
  PadRate r;
  r.presentations = attacks.size();
  r.errors = static_cast<std::size_t>(std::count_if(
      attacks.begin(), attacks.end(),
      [](const PadPresentation& p) { return p.assessment.verdict == liveness::Verdict::Live; }));
  return r;
}

PadRate bpcer(const std::vector<PadPresentation>& live) {
  PadRate r;
  r.presentations = live.size();
  r.errors = static_cast<std::size_t>(std::count_if(
      live.begin(), live.end(),
      [](const PadPresentation& p) { return p.assessment.verdict == liveness::Verdict::Spoof; }));
  return r;
}

std::vector<PadPresentation> part(const std::vector<PadPresentation>& all, SetPart which) {
  if (which == SetPart::All) {
    return all;
  }
  // Group by source (the text before " frames").
  std::map<std::string, std::vector<const PadPresentation*>> bySource;
  for (const auto& p : all) {
    bySource[p.source.substr(0, p.source.rfind(" frames"))].push_back(&p);
  }
  std::vector<PadPresentation> out;
  std::size_t singleIndex = 0;
  for (auto& [source, list] : bySource) {
    std::sort(list.begin(), list.end(),
              [](const auto* a, const auto* b) { return a->firstFrame < b->firstFrame; });
    if (list.size() == 1) {
      // One presentation per source (a synthetic attack from one photo): alternate sources.
      const bool tuning = singleIndex++ % 2 == 0;
      if (tuning == (which == SetPart::Tuning)) {
        out.push_back(*list.front());
      }
      continue;
    }
    const std::size_t half = list.size() / 2;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if ((i < half) == (which == SetPart::Tuning)) {
        out.push_back(*list[i]);
      }
    }
  }
  return out;
}

Result<void> writePadPlot(const fs::path& file, const std::vector<PadGroup>& groups,
                          const liveness::Settings& settings, Overwrite overwrite) {
  constexpr int kPanelW = 560;
  constexpr int kPanelH = 300;
  constexpr int kMargin = 50;
  const cv::Scalar kColours[] = {{40, 160, 40},  {40, 40, 200},  {200, 80, 40},
                                 {160, 40, 160}, {40, 140, 200}, {120, 120, 0}};
  cv::Mat plot(kPanelH * 2 + kMargin * 3, kPanelW + kMargin * 2, CV_8UC3,
               cv::Scalar(255, 255, 255));
  struct Panel {
    std::string title;
    double lo;
    double hi;
    double threshold;
    std::function<std::optional<double>(const liveness::Scores&)> value;
  };
  const Panel panels[] = {
      {"device/print edge: share of frames (flag >= threshold)", 0.0, 1.0,
       settings.borderFrameShare,
       [](const liveness::Scores& s) { return std::optional<double>(s.borderShare); }},
      {"planar motion: homography residual / motion (flag <= threshold)", 0.0, 0.5,
       settings.planarMaxResidual, [](const liveness::Scores& s) {
         return s.planarResidual < 0 ? std::nullopt
                                     : std::optional<double>(std::min(s.planarResidual, 0.5));
       }}};
  constexpr int kBins = 25;
  for (int p = 0; p < 2; ++p) {
    const Panel& panel = panels[p];
    const cv::Point origin(kMargin, kMargin + p * (kPanelH + kMargin) + kPanelH);
    cv::rectangle(plot, cv::Rect(kMargin, origin.y - kPanelH, kPanelW, kPanelH),
                  cv::Scalar(0, 0, 0));
    cv::putText(plot, panel.title, cv::Point(kMargin, origin.y - kPanelH - 8),
                cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      std::vector<int> bins(kBins, 0);
      int total = 0;
      for (const auto& pres : groups[g].presentations) {
        if (auto v = panel.value(pres.assessment.scores)) {
          const int b = std::clamp(
              static_cast<int>((*v - panel.lo) / (panel.hi - panel.lo) * kBins), 0, kBins - 1);
          ++bins[static_cast<std::size_t>(b)];
          ++total;
        }
      }
      const cv::Scalar colour = kColours[g % std::size(kColours)];
      std::vector<cv::Point> line;
      for (int b = 0; b < kBins; ++b) {
        const double share = total == 0 ? 0.0 : static_cast<double>(bins[b]) / total;
        line.emplace_back(origin.x + (2 * b + 1) * kPanelW / (2 * kBins),
                          origin.y - static_cast<int>(share * (kPanelH - 10)));
      }
      cv::polylines(plot, line, false, colour, 2, cv::LINE_AA);
      cv::putText(
          plot, fmt::format("{} (n={})", groups[g].name, total),
          cv::Point(origin.x + kPanelW - 230, origin.y - kPanelH + 18 + 16 * static_cast<int>(g)),
          cv::FONT_HERSHEY_SIMPLEX, 0.42, colour, 1, cv::LINE_AA);
    }
    const int tx =
        origin.x + static_cast<int>((panel.threshold - panel.lo) / (panel.hi - panel.lo) * kPanelW);
    cv::line(plot, cv::Point(tx, origin.y), cv::Point(tx, origin.y - kPanelH), cv::Scalar(0, 0, 0),
             1, cv::LINE_AA);
    cv::putText(plot, fmt::format("{:.2f}", panel.lo), cv::Point(origin.x, origin.y + 15),
                cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    cv::putText(plot, fmt::format("{:.2f}", panel.hi),
                cv::Point(origin.x + kPanelW - 30, origin.y + 15), cv::FONT_HERSHEY_SIMPLEX, 0.4,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  return writePlotFile(file, plot, overwrite);
}

}  // namespace facegate::eval
