#include "facegate/eval/det_plot.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "plot_file.hpp"

namespace facegate::eval {
namespace {

const cv::Scalar kInk(40, 40, 40);
const cv::Scalar kGrid(225, 225, 225);
const cv::Scalar kGenuine(60, 150, 30);   // green
const cv::Scalar kImpostor(40, 40, 210);  // red
const cv::Scalar kThreshold(170, 90, 0);  // blue
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kLowestDecade = -4.0;  // 1e-4: the smallest FMR the report discusses

void text(cv::Mat& img, const std::string& s, cv::Point at, const cv::Scalar& colour,
          double scale = 0.45, int thickness = 1) {
  cv::putText(img, s, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

int textWidth(const std::string& s, double scale = 0.45) {
  int baseline = 0;
  return cv::getTextSize(s, kFont, scale, 1, &baseline).width;
}

// The plotting area of one panel, in image pixels.
struct Area {
  int left;
  int top;
  int right;
  int bottom;
  int width() const { return right - left; }
  int height() const { return bottom - top; }
};

int round(double v) {
  return static_cast<int>(std::lround(v));
}

// Log10 position of a rate in [0, 1] along a decade axis, 0 at 1e-4 and 1 at 1.
double logPosition(double rate) {
  const double decade = std::log10(std::max(rate, std::pow(10.0, kLowestDecade)));
  return (decade - kLowestDecade) / -kLowestDecade;
}

cv::Point detPoint(const Area& a, double fmr, double fnmr) {
  return {a.left + round(logPosition(fmr) * a.width()),
          a.bottom - round(logPosition(fnmr) * a.height())};
}

void drawDet(cv::Mat& img, const DistanceScores& scores, double threshold) {
  const Area a{70, 50, 420, 520};
  text(img, "DET curve", {a.left, 20}, kInk, 0.6, 1);
  const char* const labels[] = {"1e-4", "1e-3", "1e-2", "0.1", "1"};
  for (int i = 0; i <= 4; ++i) {
    const int x = a.left + a.width() * i / 4;
    const int y = a.bottom - a.height() * i / 4;
    cv::line(img, {x, a.top}, {x, a.bottom}, kGrid, 1);
    cv::line(img, {a.left, y}, {a.right, y}, kGrid, 1);
    cv::line(img, {x, a.bottom}, {x, a.bottom + 5}, kInk, 1);
    cv::line(img, {a.left - 5, y}, {a.left, y}, kInk, 1);
    text(img, labels[i], {x - textWidth(labels[i]) / 2, a.bottom + 20}, kInk);
    text(img, labels[i], {a.left - 10 - textWidth(labels[i]), y + 5}, kInk);
  }
  cv::rectangle(img, {a.left, a.top}, {a.right, a.bottom}, kInk, 1);
  text(img, "FMR (impostors accepted)", {a.left + 70, a.bottom + 45}, kInk, 0.5);
  // The y-axis name, written horizontally above the axis: OpenCV has no rotated text.
  text(img, "FNMR (genuine rejected)", {a.left - 55, a.top - 8}, kInk, 0.45);

  const auto curve = scores.detCurve();
  for (std::size_t i = 1; i < curve.size(); ++i) {
    // A step: FMR and FNMR change at different scores.
    const cv::Point from = detPoint(a, curve[i - 1].fmr, curve[i - 1].fnmr);
    const cv::Point corner = detPoint(a, curve[i].fmr, curve[i - 1].fnmr);
    const cv::Point to = detPoint(a, curve[i].fmr, curve[i].fnmr);
    cv::line(img, from, corner, kInk, 2, cv::LINE_AA);
    cv::line(img, corner, to, kInk, 2, cv::LINE_AA);
  }
  const double fmr = scores.fmrAt(threshold);
  const double fnmr = scores.fnmrAt(threshold);
  const cv::Point op = detPoint(a, fmr, fnmr);
  cv::circle(img, op, 7, kThreshold, 2, cv::LINE_AA);
  // Above and right of the point: a DET curve falls to the right, so that corner is empty.
  const std::string line1 = fmt::format("t = {:.2f}", threshold);
  const std::string line2 = fmt::format("FMR {:.2g}, FNMR {:.2g}", fmr, fnmr);
  const int labelX = std::max(
      a.left + 4, std::min(op.x + 12, a.right - std::max(textWidth(line1), textWidth(line2)) - 4));
  const int labelY = op.y < a.top + 50 ? op.y + 28 : op.y - 30;
  text(img, line1, {labelX, labelY}, kThreshold);
  text(img, line2, {labelX, labelY + 18}, kThreshold);
  text(img, "rates of 0 are drawn on the 1e-4 lines", {a.left + 4, a.bottom + 70}, kInk, 0.4);
}

void drawHistograms(cv::Mat& img, const DistanceScores& scores, double threshold) {
  const Area a{510, 50, 870, 520};
  text(img, "distance histograms", {a.left, 20}, kInk, 0.6, 1);
  double maxDistance = threshold;
  for (const auto* set : {&scores.genuine(), &scores.impostor()}) {
    if (!set->empty()) {
      maxDistance = std::max(maxDistance, set->back());
    }
  }
  // Axis from 0 to the next 0.2 above the largest distance: round tick labels.
  const double xMax = std::ceil((maxDistance + 1e-9) / 0.2) * 0.2;
  constexpr int kBins = 48;
  auto histogram = [&](const std::vector<double>& values) {
    std::vector<double> bins(kBins, 0.0);
    for (const double v : values) {
      const int b = std::clamp(static_cast<int>(v / xMax * kBins), 0, kBins - 1);
      bins[static_cast<std::size_t>(b)] += 1.0 / static_cast<double>(values.size());
    }
    return bins;
  };
  const auto genuine = histogram(scores.genuine());
  const auto impostor = histogram(scores.impostor());
  const double yMax = std::max(0.05, std::max(*std::max_element(genuine.begin(), genuine.end()),
                                              *std::max_element(impostor.begin(), impostor.end())) *
                                         1.15);
  auto xOf = [&](double d) { return a.left + round(d / xMax * a.width()); };
  auto yOf = [&](double f) { return a.bottom - round(f / yMax * a.height()); };

  for (int i = 0; i <= round(xMax / 0.2); ++i) {
    const double d = 0.2 * i;
    const int x = xOf(d);
    cv::line(img, {x, a.bottom}, {x, a.bottom + 5}, kInk, 1);
    const std::string s = fmt::format("{:.1f}", d);
    text(img, s, {x - textWidth(s) / 2, a.bottom + 20}, kInk);
  }
  const double yStep = yMax > 0.5 ? 0.2 : (yMax > 0.2 ? 0.1 : 0.05);
  // Counted in whole steps: a floating-point counter would drift.
  for (int step = 0; step * yStep <= yMax; ++step) {
    const double f = step * yStep;
    const int y = yOf(f);
    cv::line(img, {a.left, y}, {a.right, y}, kGrid, 1);
    const std::string s = fmt::format("{:.2f}", f);
    text(img, s, {a.left - 8 - textWidth(s), y + 5}, kInk);
  }
  text(img, "embedding distance", {a.left + 110, a.bottom + 45}, kInk, 0.5);
  text(img, "fraction of pairs", {a.left - 45, a.top - 8}, kInk, 0.45);

  // Translucent bars so that overlapping tails stay visible, then solid outlines.
  cv::Mat overlay = img.clone();
  const double binWidth = xMax / kBins;
  for (const auto& [bins, colour] :
       {std::pair{&genuine, kGenuine}, std::pair{&impostor, kImpostor}}) {
    for (int b = 0; b < kBins; ++b) {
      const double f = (*bins)[static_cast<std::size_t>(b)];
      if (f > 0.0) {
        cv::rectangle(overlay, {xOf(b * binWidth), yOf(f)}, {xOf((b + 1) * binWidth), a.bottom},
                      colour, cv::FILLED);
      }
    }
  }
  cv::addWeighted(overlay, 0.35, img, 0.65, 0.0, img);
  for (const auto& [bins, colour] :
       {std::pair{&genuine, kGenuine}, std::pair{&impostor, kImpostor}}) {
    int previousY = a.bottom;
    for (int b = 0; b < kBins; ++b) {
      const int y = yOf((*bins)[static_cast<std::size_t>(b)]);
      const int x0 = xOf(b * binWidth);
      cv::line(img, {x0, previousY}, {x0, y}, colour, 2);
      cv::line(img, {x0, y}, {xOf((b + 1) * binWidth), y}, colour, 2);
      previousY = y;
    }
    cv::line(img, {a.right, previousY}, {a.right, a.bottom}, colour, 2);
  }
  cv::rectangle(img, {a.left, a.top}, {a.right, a.bottom}, kInk, 1);

  // Name each histogram above its tallest bar, in its colour.
  auto peakOf = [&](const std::vector<double>& bins) {
    const auto it = std::max_element(bins.begin(), bins.end());
    const auto b = static_cast<double>(it - bins.begin());
    return cv::Point(xOf((b + 0.5) * binWidth), yOf(*it));
  };
  const std::string genuineLabel = fmt::format("genuine ({})", scores.genuine().size());
  const std::string impostorLabel = fmt::format("impostor ({})", scores.impostor().size());
  // The genuine label ends over its peak, the impostor one starts over its peak: genuine
  // distances are the smaller ones, so the two names grow apart.
  const cv::Point gPeak = peakOf(genuine);
  const cv::Point iPeak = peakOf(impostor);
  const int gWidth = textWidth(genuineLabel, 0.5);
  const int iWidth = textWidth(impostorLabel, 0.5);
  cv::Point g(std::clamp(gPeak.x + 10 - gWidth, a.left + 4, a.right - gWidth - 4),
              std::max(gPeak.y - 10, a.top + 18));
  cv::Point i(std::clamp(iPeak.x - 10, a.left + 4, a.right - iWidth - 4),
              std::max(iPeak.y - 10, a.top + 18));
  if (std::abs(g.y - i.y) < 24 && g.x < i.x + iWidth + 6 && i.x < g.x + gWidth + 6) {
    i.y = g.y + 24;  // they would still overlap: put the impostor one below
  }
  text(img, genuineLabel, g, kGenuine, 0.5, 2);
  text(img, impostorLabel, i, kImpostor, 0.5, 2);

  const int tx = xOf(threshold);
  cv::line(img, {tx, a.top}, {tx, a.bottom}, kThreshold, 2);
  const std::string tLabel = fmt::format("t = {:.2f}", threshold);
  text(img, tLabel, {std::min(tx + 5, a.right - textWidth(tLabel) - 2), a.top + 15}, kThreshold,
       0.45, 1);
}

}  // namespace

cv::Mat renderDetPlot(const DistanceScores& scores, double threshold) {
  cv::Mat img(kPlotHeight, kPlotWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  drawDet(img, scores, threshold);
  drawHistograms(img, scores, threshold);
  return img;
}

Result<void> writeDetPlot(const std::filesystem::path& path, const DistanceScores& scores,
                          double threshold, Overwrite overwrite) {
  return writePlotFile(path, renderDetPlot(scores, threshold), overwrite);
}

}  // namespace facegate::eval
