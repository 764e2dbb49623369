#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"

namespace facegate::face {

// Guards applied before and after decoding an untrusted image file.
struct ImageLimits {
  // Smaller than this on either side cannot hold a face the detector finds (its window is
  // 80x80 before the upsampled pass halves that).
  int minSide = 40;
  // Decompression-bomb guard, checked from the PNG/JPEG header before any pixel is
  // decoded: 40 megapixels is above any camera a school uses for enrolment photos.
  std::int64_t maxPixels = 40'000'000;
  // Nobody's enrolment photo is larger; a bigger file is refused unread.
  std::uintmax_t maxFileBytes = 64u << 20;
};

// Reads and decodes an image file into an 8-bit, 3-channel BGR cv::Mat.
// Errors (as values): FileNotFound, FileUnreadable, ImageUndecodable (not an image, or a
// truncated PNG/JPEG), ImageTooSmall, ImageTooLarge; each message names the file.
// An alpha channel is dropped, not composited: a transparent pixel comes back as the colour
// stored under it, which a person looking at the file does not see. Where that matters (an
// enrolment photo), use loadImageWithAlpha.
// The file's bytes are wiped from memory once decoded; the caller owns (and wipes) the pixels.
Result<cv::Mat> loadImage(const std::filesystem::path& path, const ImageLimits& limits = {});

// The same checks on bytes already in memory; `name` is used in messages.
Result<cv::Mat> decodeImage(std::span<const std::uint8_t> bytes, std::string_view name,
                            const ImageLimits& limits = {});

// A decoded image together with how opaque each of its pixels is.
struct DecodedImage {
  cv::Mat bgr;    // 8-bit BGR, exactly what loadImage returns for the same file
  cv::Mat alpha;  // 8-bit, same size, 255 = opaque (16-bit alpha scaled down); empty when
                  // the file has no alpha channel (JPEG, PNG without one, most BMP)
};

// loadImage / decodeImage, keeping the alpha channel of a PNG or BMP that has one. Also
// ImageUndecodable when the file has an alpha channel and an orientation tag that rotates its
// colours, so that the two no longer line up (the transparency could not be checked).
Result<DecodedImage> loadImageWithAlpha(const std::filesystem::path& path,
                                        const ImageLimits& limits = {});
Result<DecodedImage> decodeImageWithAlpha(std::span<const std::uint8_t> bytes,
                                          std::string_view name, const ImageLimits& limits = {});

}  // namespace facegate::face
