// libFuzzer target: a camera frame through zbar (QrScanner) to the badge parser.
//
// Input: a 5-byte header, then grey pixels, row by row.
//   bytes 0-1  width  (little-endian), mapped to 8..kMaxSide
//   bytes 2-3  height (little-endian), mapped to 8..kMaxSide
//   byte  4    scale: the image is enlarged 1..4 times (nearest neighbour) before scanning,
//              as long as it stays within kMaxSide, so that small inputs make QR codes
//              with modules of several pixels, as a camera sees them
// Missing pixels are white (255); extra bytes are ignored.
// Every decoded text goes through fuzz_support.hpp's exerciseBadgeText().

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/badge/qr.hpp"
#include "fuzz_support.hpp"

namespace {

constexpr int kMinSide = 8;
constexpr int kMaxSide = 640;  // a VGA camera frame
constexpr std::size_t kHeaderSize = 5;

int side(const std::uint8_t* p) {
  const int raw = p[0] | (p[1] << 8);
  return kMinSide + raw % (kMaxSide - kMinSide + 1);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  facegate::fuzz::testSchool();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static facegate::badge::QrScanner scanner;
  if (size < kHeaderSize) {
    return 0;
  }
  const int width = side(data);
  const int height = side(data + 2);
  int scale = 1 + data[4] % 4;
  while (scale > 1 && (width * scale > kMaxSide || height * scale > kMaxSide)) {
    --scale;
  }
  cv::Mat pixels(height, width, CV_8UC1, cv::Scalar(255));
  const std::size_t available = size - kHeaderSize;
  const std::size_t wanted = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::memcpy(pixels.data, data + kHeaderSize, std::min(available, wanted));
  cv::Mat frame = pixels;
  if (scale > 1) {
    cv::resize(pixels, frame, cv::Size(), scale, scale, cv::INTER_NEAREST);
  }
  for (const std::string& text : scanner.scan(frame)) {
    // The scanner's contract: nothing longer than a badge can be reaches the parser.
    if (text.size() > facegate::badge::kMaxPayloadTextLength) {
      __builtin_trap();
    }
    facegate::fuzz::exerciseBadgeText(text);
  }
  return 0;
}
