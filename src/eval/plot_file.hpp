#pragma once

// Private to the eval module: how its plots reach the disk.

#include <filesystem>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"
#include "facegate/core/output_file.hpp"

namespace facegate::eval {

// `image` encoded in memory in the format its name asks for (.png; .jpg also works) and
// written through OutputFile: a new file, mode 0600, never through a symbolic link or into
// a file that exists unless `overwrite` is Replace. InvalidArgument for a name OpenCV has
// no encoder for; the OutputFile errors otherwise.
Result<void> writePlotFile(const std::filesystem::path& path, const cv::Mat& image,
                           Overwrite overwrite);

}  // namespace facegate::eval
