#include "facegate/camera/image_sequence_source.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

namespace facegate::camera {
namespace fs = std::filesystem;
using std::chrono::steady_clock;

namespace {

// Above any camera a gate uses; keeps the frame period a sensible duration.
constexpr double kMaxFps = 1000.0;

bool isImageName(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".png" || extension == ".jpg" || extension == ".jpeg";
}

}  // namespace

ImageSequenceSource::ImageSequenceSource(ImageSequenceSettings settings)
    : settings_(std::move(settings)) {}

std::string ImageSequenceSource::describe() const {
  return fmt::format("image sequence {} at {:g} fps{}", settings_.directory.string(), settings_.fps,
                     settings_.loop ? ", looping" : "");
}

Result<void> ImageSequenceSource::open() {
  close();
  auto listed = [this]() -> Result<std::vector<fs::path>> {
    const std::string name = settings_.directory.string();
    if (!std::isfinite(settings_.fps) || settings_.fps < 0.0 || settings_.fps > kMaxFps) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("image sequence {}: fps {:g} is out of range (0 to {:g}; 0 means "
                              "unpaced)",
                              name, settings_.fps, kMaxFps));
    }
    std::error_code ec;
    const auto status = fs::status(settings_.directory, ec);
    if (!fs::exists(status)) {
      return fail(ErrorCode::FileNotFound,
                  fmt::format("image sequence directory {} does not exist", name));
    }
    if (!fs::is_directory(status)) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("image sequence source {} is not a directory", name));
    }
    std::vector<fs::path> images;
    for (fs::directory_iterator it(settings_.directory, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->is_regular_file(ec) && isImageName(it->path())) {
        images.push_back(it->path());
      }
    }
    if (ec) {
      return fail(ErrorCode::FileUnreadable,
                  fmt::format("cannot list image sequence directory {}: {}", name, ec.message()));
    }
    if (images.empty()) {
      return fail(ErrorCode::FileNotFound,
                  fmt::format("image sequence directory {} holds no PNG or JPEG image", name));
    }
    // All in one directory, so ordering the paths orders the names.
    std::sort(images.begin(), images.end());
    return images;
  }();
  if (!listed) {
    lastError_ = listed.error();
    return tl::unexpected(listed.error());
  }
  images_ = std::move(*listed);
  next_ = 0;
  delivered_ = 0;
  due_ = steady_clock::now();
  failed_ = false;
  lastError_.reset();
  open_ = true;
  return {};
}

ReadStatus ImageSequenceSource::read(Frame& out, std::chrono::milliseconds timeout) {
  if (!open_) {
    lastError_ = Error{ErrorCode::InvalidArgument,
                       fmt::format("{} is not open: call open() before read()", describe())};
    return ReadStatus::Failed;
  }
  if (failed_) {
    return ReadStatus::Failed;
  }
  if (next_ == images_.size()) {
    return ReadStatus::Ended;
  }
  if (settings_.fps > 0.0) {
    const auto now = steady_clock::now();
    if (due_ > now) {
      if (due_ - now > timeout) {
        std::this_thread::sleep_for(timeout);
        return ReadStatus::Stalled;
      }
      std::this_thread::sleep_until(due_);
    }
  }

  const fs::path& path = images_[next_];
  cv::Mat image;
  std::string why = "corrupt, truncated or not an image";
  try {
    image = cv::imread(path.string(), cv::IMREAD_COLOR);  // 8-bit BGR whatever the file holds
  } catch (const cv::Exception& e) {
    why = e.msg;
  }
  if (image.empty()) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    failed_ = true;
    lastError_ = Error{exists ? ErrorCode::ImageUndecodable : ErrorCode::FileNotFound,
                       fmt::format("cannot read {} ({}), image {} of {} in {}", path.string(),
                                   exists ? why : "the file has disappeared", next_ + 1,
                                   images_.size(), describe())};
    return ReadStatus::Failed;
  }

  const auto deliveredAt = steady_clock::now();
  out = Frame{std::move(image), deliveredAt, delivered_++};
  if (++next_ == images_.size() && settings_.loop) {
    next_ = 0;
  }
  if (settings_.fps > 0.0) {
    const auto period = std::chrono::duration_cast<steady_clock::duration>(
        std::chrono::duration<double>(1.0 / settings_.fps));
    due_ = std::max(due_ + period, deliveredAt);
  }
  return ReadStatus::Frame;
}

void ImageSequenceSource::close() noexcept {
  open_ = false;
  failed_ = false;
  images_.clear();
  next_ = 0;
  delivered_ = 0;
}

}  // namespace facegate::camera
