#include "facegate/badge/qr.hpp"

#include <cctype>
#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>
#include <qrencode.h>
#include <zbar.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/badge/payload.hpp"
#include "facegate/core/secure_memory.hpp"

namespace facegate::badge {
namespace fs = std::filesystem;
using namespace zbar;  // zbar's C API, which <zbar.h> puts in this namespace for C++

namespace {

constexpr int kMaxModuleSize = 32;
constexpr int kMaxQuietZoneModules = 16;

struct FreeQrCode {
  void operator()(QRcode* code) const noexcept { QRcode_free(code); }
};
using QrCodePtr = std::unique_ptr<QRcode, FreeQrCode>;

struct DestroyZbarImage {
  void operator()(zbar_image_t* image) const noexcept { zbar_image_destroy(image); }
};
using ZbarImagePtr = std::unique_ptr<zbar_image_t, DestroyZbarImage>;

// zbar's fourcc for 8-bit grey, spelled out (zbar_fourcc() is a macro full of C casts).
constexpr unsigned long kFourccY800 =
    'Y' | ('8' << 8) | ('0' << 16) | (static_cast<unsigned long>('0') << 24);

}  // namespace

Result<cv::Mat> renderQr(std::string_view text, int moduleSize, int quietZoneModules) {
  if (moduleSize < 1 || moduleSize > kMaxModuleSize) {
    return fail(ErrorCode::InvalidArgument, fmt::format("QR module size {} is outside 1..{} pixels",
                                                        moduleSize, kMaxModuleSize));
  }
  if (quietZoneModules < 0 || quietZoneModules > kMaxQuietZoneModules) {
    return fail(ErrorCode::InvalidArgument, fmt::format("QR quiet zone {} is outside 0..{} modules",
                                                        quietZoneModules, kMaxQuietZoneModules));
  }
  if (text.empty()) {
    return fail(ErrorCode::InvalidArgument, "cannot render an empty text as a QR code");
  }
  if (text.find('\0') != std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument,
                "cannot render a text holding a NUL byte as a QR code (it would be cut short)");
  }
  const std::string terminated(text);
  // Version 0: the smallest that fits. QR_MODE_8 is only a hint: libqrencode splits the text
  // and picks alphanumeric mode for runs of QR alphanumeric characters, i.e. all of base45.
  errno = 0;
  const QrCodePtr code(QRcode_encodeString(terminated.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!code) {
    if (errno == ERANGE) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("a {}-character text is too long for a QR code", text.size()));
    }
    if (errno == EINVAL) {
      return fail(ErrorCode::InvalidArgument, "libqrencode refused the text");
    }
    return fail(ErrorCode::Internal, "libqrencode failed (out of memory)");
  }
  const int width = code->width;
  const int side = (width + 2 * quietZoneModules) * moduleSize;
  cv::Mat image(side, side, CV_8UC1, cv::Scalar(255));
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      // Bit 0 of each byte is the module's colour (1 = dark); the others are libqrencode's
      // bookkeeping.
      if ((code->data[y * width + x] & 1) != 0) {
        image(cv::Rect((x + quietZoneModules) * moduleSize, (y + quietZoneModules) * moduleSize,
                       moduleSize, moduleSize))
            .setTo(0);
      }
    }
  }
  return image;
}

Result<std::vector<std::uint8_t>> encodeQrPng(std::string_view text, int moduleSize,
                                              int quietZoneModules) {
  auto image = renderQr(text, moduleSize, quietZoneModules);
  if (!image) {
    return tl::unexpected(std::move(image.error()));
  }
  std::vector<std::uint8_t> png;
  bool encoded = false;
  try {
    encoded = cv::imencode(".png", *image, png);
  } catch (const cv::Exception&) {
    encoded = false;
  }
  // The modules of a sealed badge spell out its secret.
  secureWipe(image->data, image->total() * image->elemSize());
  if (!encoded) {
    secureWipe(png.data(), png.size());
    return fail(ErrorCode::Internal, "OpenCV could not encode the QR code as a PNG");
  }
  return png;
}

Result<void> checkPngName(const fs::path& path) {
  auto extension = path.extension().string();
  for (auto& c : extension) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (extension != ".png") {
    return fail(
        ErrorCode::InvalidArgument,
        fmt::format("{} does not end in .png; a badge QR is written as a PNG", path.string()));
  }
  return {};
}

Result<void> writeQrPng(std::string_view text, const fs::path& path, int moduleSize,
                        int quietZoneModules, Overwrite overwrite) {
  if (auto name = checkPngName(path); !name) {
    return name;
  }
  auto png = encodeQrPng(text, moduleSize, quietZoneModules);
  if (!png) {
    return tl::unexpected(std::move(png.error()));
  }
  auto written = writeOutputFile(path, *png, overwrite);
  secureWipe(png->data(), png->size());
  return written;
}

void QrScanner::Destroy::operator()(zbar::zbar_image_scanner_s* scanner) const noexcept {
  zbar_image_scanner_destroy(scanner);
}

QrScanner::QrScanner() : scanner_(zbar_image_scanner_create()) {
  if (!scanner_) {
    throw std::bad_alloc();
  }
  // Everything off, then QR alone back on: EAN/UPC and the linear codes would otherwise
  // report whatever stripes a camera sees as "barcodes".
  if (zbar_image_scanner_set_config(scanner_.get(), ZBAR_NONE, ZBAR_CFG_ENABLE, 0) != 0 ||
      zbar_image_scanner_set_config(scanner_.get(), ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) != 0) {
    throw std::runtime_error("zbar refused to be configured for QR codes only");
  }
}

QrScanner::~QrScanner() = default;
QrScanner::QrScanner(QrScanner&&) noexcept = default;
QrScanner& QrScanner::operator=(QrScanner&&) noexcept = default;

std::vector<std::string> QrScanner::scan(const cv::Mat& grey) {
  std::vector<std::string> texts;
  if (grey.empty()) {
    return texts;
  }
  if (grey.type() != CV_8UC1) {
    throw std::invalid_argument("QrScanner::scan needs an 8-bit single-channel (CV_8UC1) frame");
  }
  // zbar reads width * height bytes from one pointer, so rows must be contiguous.
  const cv::Mat pixels = grey.isContinuous() ? grey : grey.clone();
  const ZbarImagePtr image(zbar_image_create());
  if (!image) {
    throw std::bad_alloc();
  }
  zbar_image_set_format(image.get(), kFourccY800);
  zbar_image_set_size(image.get(), static_cast<unsigned>(pixels.cols),
                      static_cast<unsigned>(pixels.rows));
  // No cleanup handler: zbar does not own (or free) the pixels.
  zbar_image_set_data(image.get(), pixels.data, pixels.total(), nullptr);
  if (zbar_scan_image(scanner_.get(), image.get()) <= 0) {
    return texts;  // 0: nothing found; -1: zbar error, treated as nothing found
  }
  for (const zbar_symbol_t* symbol = zbar_image_first_symbol(image.get()); symbol != nullptr;
       symbol = zbar_symbol_next(symbol)) {
    if (zbar_symbol_get_type(symbol) != ZBAR_QRCODE) {
      continue;
    }
    const unsigned length = zbar_symbol_get_data_length(symbol);
    if (length > kMaxPayloadTextLength) {
      continue;  // no badge is that long; do not pass it on
    }
    texts.emplace_back(zbar_symbol_get_data(symbol), length);
  }
  return texts;
}

std::vector<std::string> QrScanner::scanBgr(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() == CV_8UC1) {
    return scan(bgr);
  }
  cv::Mat grey;
  if (bgr.type() == CV_8UC3) {
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  } else if (bgr.type() == CV_8UC4) {
    cv::cvtColor(bgr, grey, cv::COLOR_BGRA2GRAY);
  } else {
    throw std::invalid_argument("QrScanner::scanBgr needs an 8-bit BGR, BGRA or grey frame");
  }
  return scan(grey);
}

}  // namespace facegate::badge
