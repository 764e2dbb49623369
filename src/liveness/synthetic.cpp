#include "facegate/liveness/synthetic.hpp"

#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

namespace facegate::liveness {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A plain corridor wall, lighter at the top, with a little sensor-like noise.
cv::Mat wall(cv::Size size, std::mt19937& rng) {
  cv::Mat frame(size, CV_8UC3);
  std::uniform_int_distribution<int> tone(150, 200);
  const int base = tone(rng);
  for (int y = 0; y < frame.rows; ++y) {
    const double shade = 1.0 - 0.25 * y / frame.rows;
    frame.row(y).setTo(cv::Scalar(base * shade * 0.9, base * shade, base * shade * 1.05));
  }
  return frame;
}

// The photo as it looks printed: duller and slightly desaturated, paper grain, and the
// white margin of a photo print.
cv::Mat printed(const cv::Mat& photo, int height, std::mt19937& rng, cv::RNG& noise) {
  cv::Mat img;
  const double scale = static_cast<double>(height) / photo.rows;
  cv::resize(photo, img, cv::Size(), scale, scale, cv::INTER_AREA);
  img.convertTo(img, CV_32FC3, 0.8, 30.0);
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey, grey, cv::COLOR_GRAY2BGR);
  cv::addWeighted(img, 0.8, grey, 0.2, 0.0, img);
  cv::Mat grain(img.size(), CV_32FC3);
  noise.fill(grain, cv::RNG::NORMAL, 0.0, 6.0);
  cv::GaussianBlur(grain, grain, cv::Size(3, 3), 0);
  img += grain;
  const int margin = std::max(4, img.cols * 6 / 100);
  cv::copyMakeBorder(img, img, margin, margin, margin, margin, cv::BORDER_CONSTANT,
                     cv::Scalar(232, 235, 235));
  // Uneven light across the sheet.
  std::uniform_real_distribution<double> dir(0.0, 2.0 * kPi);
  const double a = dir(rng);
  for (int y = 0; y < img.rows; ++y) {
    auto* row = img.ptr<cv::Vec3f>(y);
    for (int x = 0; x < img.cols; ++x) {
      const double t = ((x - img.cols / 2.0) * std::cos(a) + (y - img.rows / 2.0) * std::sin(a)) /
                       std::max(img.cols, img.rows);
      row[x] *= static_cast<float>(1.0 + 0.3 * t);
    }
  }
  cv::Mat out;
  img.convertTo(out, CV_8UC3);
  return out;
}

// The photo on a phone in portrait: a bright, blue-cast screen inside a dark bezel.
cv::Mat onPhone(const cv::Mat& photo, int height) {
  const int bodyH = height;
  const int bodyW = bodyH * 9 / 17;
  const int bezel = std::max(3, bodyW * 6 / 100);
  cv::Mat body(bodyH, bodyW, CV_8UC3, cv::Scalar(25, 25, 28));
  const cv::Rect screen(bezel, bezel * 2, bodyW - 2 * bezel, bodyH - 4 * bezel);
  body(screen).setTo(cv::Scalar(10, 10, 10));  // letterbox bars of the photo viewer
  cv::Mat img;
  const double scale = std::min(static_cast<double>(screen.width) / photo.cols,
                                static_cast<double>(screen.height) / photo.rows);
  cv::resize(photo, img, cv::Size(), scale, scale, cv::INTER_AREA);
  std::vector<cv::Mat> ch;
  cv::split(img, ch);
  ch[0].convertTo(ch[0], -1, 1.08, 12);
  ch[1].convertTo(ch[1], -1, 1.0, 12);
  ch[2].convertTo(ch[2], -1, 0.92, 12);
  cv::merge(ch, img);
  const cv::Rect at(screen.x + (screen.width - img.cols) / 2,
                    screen.y + (screen.height - img.rows) / 2, img.cols, img.rows);
  img.copyTo(body(at));
  return body;
}

}  // namespace

std::string_view toString(AttackKind kind) {
  return kind == AttackKind::Print ? "print" : "screen";
}

std::vector<cv::Mat> synthesizeAttack(const cv::Mat& photo, AttackKind kind, std::uint32_t seed,
                                      int frames, cv::Size frameSize) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const cv::Mat background = wall(frameSize, rng);
  // OpenCV's own generator, seeded from ours: cv::randn would use a process-wide one.
  cv::RNG noise(seed);
  const bool print = kind == AttackKind::Print;
  const cv::Mat sheet = print ? printed(photo, frameSize.height * 62 / 100, rng, noise)
                              : onPhone(photo, frameSize.height * 80 / 100);

  // A smooth hand-held path: sway and tilt for a sheet of paper, a tremor for a phone.
  const double sway = print ? 4.0 + 4.0 * unit(rng) : 1.0 + 1.0 * unit(rng);     // degrees
  const double shift = print ? 12.0 + 14.0 * unit(rng) : 3.0 + 4.0 * unit(rng);  // pixels
  const double tilt = print ? 3e-4 * (0.5 + unit(rng)) : 1e-4 * unit(rng);
  const double period = 20.0 + 20.0 * unit(rng);  // frames
  const double phase = 2.0 * kPi * unit(rng);
  const double moireAngle = kPi * unit(rng);
  const double moirePeriod = 2.6 + 1.4 * unit(rng);  // camera pixels
  const cv::Point2d glare(0.3 + 0.4 * unit(rng), 0.2 + 0.5 * unit(rng));

  std::vector<cv::Mat> out;
  out.reserve(static_cast<std::size_t>(std::max(frames, 0)));
  for (int i = 0; i < frames; ++i) {
    const double t = 2.0 * kPi * i / period + phase;
    const double angle = sway * std::sin(t) * kPi / 180.0;
    const cv::Matx33d toOrigin(1, 0, -sheet.cols / 2.0, 0, 1, -sheet.rows / 2.0, 0, 0, 1);
    const cv::Matx33d perspective(1, 0, 0, 0, 1, 0, tilt * std::sin(t * 0.7), tilt * std::cos(t),
                                  1);
    const double s = 1.0 + 0.04 * std::sin(t * 0.5);
    const cv::Matx33d rotate(s * std::cos(angle), -s * std::sin(angle), 0, s * std::sin(angle),
                             s * std::cos(angle), 0, 0, 0, 1);
    const cv::Matx33d place(1, 0, frameSize.width / 2.0 + shift * std::sin(t * 1.3), 0, 1,
                            frameSize.height / 2.0 + shift * 0.5 * std::cos(t), 0, 0, 1);
    const cv::Matx33d homography = place * rotate * perspective * toOrigin;

    cv::Mat warped;
    cv::Mat mask;
    cv::warpPerspective(sheet, warped, cv::Mat(homography), frameSize, cv::INTER_LINEAR,
                        cv::BORDER_CONSTANT);
    cv::warpPerspective(cv::Mat(sheet.size(), CV_8UC1, cv::Scalar(255)), mask, cv::Mat(homography),
                        frameSize, cv::INTER_NEAREST, cv::BORDER_CONSTANT);
    cv::Mat frame = background.clone();
    cv::Mat content;
    warped.convertTo(content, CV_32FC3, print ? 0.95 + 0.1 * unit(rng) : 1.0);  // light flicker
    if (!print) {
      // Moiré: the camera samples the phone's pixel grid; and a glare spot on the glass.
      for (int y = 0; y < content.rows; ++y) {
        auto* row = content.ptr<cv::Vec3f>(y);
        for (int x = 0; x < content.cols; ++x) {
          const double u = x * std::cos(moireAngle) + y * std::sin(moireAngle);
          row[x] *= static_cast<float>(1.0 + 0.08 * std::sin(2.0 * kPi * u / moirePeriod));
        }
      }
      const cv::Vec3d g = homography * cv::Vec3d(glare.x * sheet.cols, glare.y * sheet.rows, 1.0);
      const cv::Point2d centre(g[0] / g[2], g[1] / g[2]);
      const double radius = sheet.cols * 0.18;
      for (int y = 0; y < content.rows; ++y) {
        auto* row = content.ptr<cv::Vec3f>(y);
        for (int x = 0; x < content.cols; ++x) {
          const double d2 = (x - centre.x) * (x - centre.x) + (y - centre.y) * (y - centre.y);
          row[x] += cv::Vec3f::all(static_cast<float>(70.0 * std::exp(-d2 / (radius * radius))));
        }
      }
    }
    content.convertTo(warped, CV_8UC3);
    warped.copyTo(frame, mask);
    // The camera: a little blur and sensor noise.
    cv::GaussianBlur(frame, frame, cv::Size(3, 3), 0.8);
    cv::Mat sensor(frame.size(), CV_16SC3);
    noise.fill(sensor, cv::RNG::NORMAL, 0.0, 2.0);
    cv::Mat noisy;
    frame.convertTo(noisy, CV_16SC3);
    noisy += sensor;
    noisy.convertTo(frame, CV_8UC3);
    out.push_back(std::move(frame));
  }
  return out;
}

}  // namespace facegate::liveness
