#pragma once

#include <filesystem>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/eval/metrics.hpp"

namespace facegate::eval {

inline constexpr int kPlotWidth = 900;
inline constexpr int kPlotHeight = 600;

// A 900x600 BGR picture of an evaluation. Left: the DET curve (FNMR against FMR, both on
// log axes from 1e-4 to 1; a rate of 0 is drawn on the 1e-4 line) with `threshold`'s
// operating point marked. Right: the genuine and impostor distance histograms (each as the
// fraction of its own pairs, so the few genuine pairs stay visible), named in the plot, and
// a vertical line at `threshold` labelled with its value.
cv::Mat renderDetPlot(const DistanceScores& scores, double threshold);

// renderDetPlot written as a PNG (mode 0600) through OutputFile (core/output_file.hpp):
// never through a symbolic link, never into an existing file unless `overwrite` is Replace
// (--force), which replaces the file or link by a new file. InvalidArgument for a name with
// no image format OpenCV can encode (give it .png); AlreadyExists or StorageFailure, naming
// the file, otherwise.
Result<void> writeDetPlot(const std::filesystem::path& path, const DistanceScores& scores,
                          double threshold, Overwrite overwrite = Overwrite::Refuse);

}  // namespace facegate::eval
