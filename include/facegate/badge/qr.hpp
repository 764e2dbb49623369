#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"
#include "facegate/core/output_file.hpp"

// From <zbar.h>, kept out of this header (in C++, zbar declares its C API in namespace zbar).
namespace zbar {
struct zbar_image_scanner_s;
}  // namespace zbar

namespace facegate::badge {

// Renders `text` as a QR code (libqrencode, error correction level M, the version chosen by
// the length). Base45 text uses only the QR alphanumeric set, so libqrencode encodes it in
// alphanumeric mode: a sealed badge fits version 9, an on-badge one version 13.
// Returns a CV_8UC1 image, black (0) modules on white (255), `moduleSize` pixels per module
// (1..32) and a white margin of `quietZoneModules` modules (0..16; the standard asks for 4).
// InvalidArgument for empty text, text holding a NUL byte, text too long for any QR code,
// or sizes out of range; Internal if libqrencode runs out of memory.
Result<cv::Mat> renderQr(std::string_view text, int moduleSize = 8, int quietZoneModules = 4);

// renderQr() encoded as a PNG in memory (cv::imencode), ready for an OutputFile. The PNG
// of a sealed badge holds its secret: wipe it (secureWipe) once written. Errors as
// renderQr(); Internal if OpenCV cannot encode.
Result<std::vector<std::uint8_t>> encodeQrPng(std::string_view text, int moduleSize = 8,
                                              int quietZoneModules = 4);

// InvalidArgument unless `path` ends in .png (any case): badge QR files are PNGs.
Result<void> checkPngName(const std::filesystem::path& path);

// encodeQrPng() written to `path` (the name must end in .png) through OutputFile
// (core/output_file.hpp): a new file, mode 0600 (the QR of a sealed badge holds the badge
// secret), never written through a symbolic link nor into a file that exists — unless
// `overwrite` is Replace, which replaces a file or a link by the new file without writing
// through it. AlreadyExists or StorageFailure, naming the file, when it cannot be written.
Result<void> writeQrPng(std::string_view text, const std::filesystem::path& path,
                        int moduleSize = 8, int quietZoneModules = 4,
                        Overwrite overwrite = Overwrite::Refuse);

// Finds QR codes in camera frames (zbar, with every symbology but QR disabled, so a
// product barcode or a pattern never reaches the badge parser).
//
// Frames are borrowed for the duration of a call: scan() hands zbar a pointer to the Mat's
// pixels without copying (a non-continuous Mat, e.g. a ROI, is copied first) and zbar
// keeps no reference after it returns. Texts longer than kMaxPayloadTextLength (see
// payload.hpp) are dropped: no valid badge is that long.
// Move-only. Not thread-safe: one scanner per thread.
class QrScanner {
 public:
  // Throws std::bad_alloc if zbar cannot allocate, std::runtime_error if it refuses the
  // configuration (a broken installation).
  QrScanner();
  ~QrScanner();
  QrScanner(QrScanner&&) noexcept;
  QrScanner& operator=(QrScanner&&) noexcept;
  QrScanner(const QrScanner&) = delete;
  QrScanner& operator=(const QrScanner&) = delete;

  // The texts of the QR codes found in an 8-bit grey frame (CV_8UC1), in zbar's order; empty
  // when there is none, or for an empty frame. Throws std::invalid_argument for another
  // pixel type (a programming error).
  std::vector<std::string> scan(const cv::Mat& grey);

  // Converts a CV_8UC3 BGR (or CV_8UC4 BGRA, or already grey) frame to grey and scans it.
  std::vector<std::string> scanBgr(const cv::Mat& bgr);

 private:
  struct Destroy {
    void operator()(zbar::zbar_image_scanner_s* scanner) const noexcept;
  };
  std::unique_ptr<zbar::zbar_image_scanner_s, Destroy> scanner_;
};

}  // namespace facegate::badge
