#include "plot_file.hpp"

#include <cstdint>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

namespace facegate::eval {

Result<void> writePlotFile(const std::filesystem::path& path, const cv::Mat& image,
                           Overwrite overwrite) {
  std::vector<std::uint8_t> encoded;
  bool ok = false;
  try {
    ok = cv::imencode(path.extension().string(), image, encoded);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) {
    return fail(
        ErrorCode::InvalidArgument,
        fmt::format("cannot write the plot to {}: give it a name ending in .png", path.string()));
  }
  return writeOutputFile(path, encoded, overwrite);
}

}  // namespace facegate::eval
