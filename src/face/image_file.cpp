#include "facegate/face/image_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "facegate/core/secure_memory.hpp"

namespace facegate::face {
namespace fs = std::filesystem;

namespace {

enum class Format { Png, Jpeg, Bmp };

struct Header {
  Format format;
  std::int64_t width = 0;
  std::int64_t height = 0;
};

std::uint32_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 8) | b[at + 1];
}
std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return (be16(b, at) << 16) | be16(b, at + 2);
}
std::int32_t le32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::int32_t>(std::uint32_t{b[at]} | (std::uint32_t{b[at + 1]} << 8) |
                                   (std::uint32_t{b[at + 2]} << 16) |
                                   (std::uint32_t{b[at + 3]} << 24));
}

// Reads the dimensions from the header without decoding, and checks that the file is
// complete (a truncated JPEG would otherwise decode to a half-grey picture, with only a
// warning from libjpeg). Returns an error message on failure.
tl::expected<Header, std::string> readHeader(std::span<const std::uint8_t> b) {
  static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (b.size() >= 8 && std::memcmp(b.data(), kPng, 8) == 0) {
    if (b.size() < 33 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) {
      return tl::unexpected<std::string>("is a truncated PNG (no complete IHDR chunk)");
    }
    // A PNG ends with its IEND chunk; look for it in the tail (some writers append junk).
    const std::size_t tail = std::min<std::size_t>(b.size(), 4096);
    bool hasEnd = false;
    for (std::size_t i = b.size() - tail; i + 4 <= b.size(); ++i) {
      if (std::memcmp(b.data() + i, "IEND", 4) == 0) {
        hasEnd = true;
      }
    }
    if (!hasEnd) {
      return tl::unexpected<std::string>("is a truncated PNG (no IEND chunk)");
    }
    return Header{Format::Png, be32(b, 16), be32(b, 20)};
  }
  if (b.size() >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
    // Walk the marker segments up to the first start-of-scan, noting the frame size.
    std::optional<Header> header;
    std::size_t pos = 2;
    std::size_t scanStart = 0;
    while (pos + 4 <= b.size()) {
      if (b[pos] != 0xff) {
        return tl::unexpected<std::string>("is a corrupt JPEG (bad marker structure)");
      }
      const std::uint8_t marker = b[pos + 1];
      if (marker == 0xff) {  // fill byte
        ++pos;
        continue;
      }
      const std::size_t length = be16(b, pos + 2);
      if (length < 2 || pos + 2 + length > b.size()) {
        break;  // truncated inside a segment
      }
      const bool isFrame =
          marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
      if (isFrame && length >= 7) {
        header = Header{Format::Jpeg, be16(b, pos + 7), be16(b, pos + 5)};
      }
      if (marker == 0xda) {
        scanStart = pos + 2 + length;
        break;
      }
      pos += 2 + length;
    }
    if (!header || scanStart == 0) {
      return tl::unexpected<std::string>("is a truncated JPEG (it ends before the image data)");
    }
    // Entropy-coded data never holds FF D9 (0xFF is stuffed), so the end-of-image marker
    // after the first scan tells a complete file from a cut one.
    bool hasEnd = false;
    for (std::size_t i = b.size() - 1; i > scanStart; --i) {
      if (b[i - 1] == 0xff && b[i] == 0xd9) {
        hasEnd = true;
        break;
      }
    }
    if (!hasEnd) {
      return tl::unexpected<std::string>("is a truncated JPEG (no end-of-image marker)");
    }
    return *header;
  }
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') {
    const std::int64_t h = le32(b, 22);
    return Header{Format::Bmp, le32(b, 18), h < 0 ? -h : h};
  }
  return tl::unexpected<std::string>("is not a PNG, JPEG or BMP image");
}

// Wipes a Mat's pixels when this is the last reference to them, then releases it.
void wipe(cv::Mat& m) noexcept {
  if (!m.empty() && m.isContinuous() && m.u != nullptr && m.u->refcount == 1) {
    secureWipe(m.data, m.total() * m.elemSize());
  }
  m.release();
}

// The checks before decoding and the colour decode, shared by both entry points.
Result<DecodedImage> decodeChecked(std::span<const std::uint8_t> bytes, std::string_view name,
                                   const ImageLimits& limits, bool keepAlpha) {
  if (bytes.empty()) {
    return fail(ErrorCode::ImageUndecodable, fmt::format("{} is empty", name));
  }
  auto header = readHeader(bytes);
  if (!header) {
    return fail(ErrorCode::ImageUndecodable, fmt::format("{} {}", name, header.error()));
  }
  if (header->width <= 0 || header->height <= 0) {
    return fail(ErrorCode::ImageUndecodable, fmt::format("{} declares an invalid size {}x{}", name,
                                                         header->width, header->height));
  }
  // width * height > maxPixels, written without the product: a PNG may declare 2^32-1 by
  // 2^32-1, which overflows 64 bits (and passed as a negative pixel count).
  if (header->width > limits.maxPixels / header->height) {
    return fail(ErrorCode::ImageTooLarge,
                fmt::format("{} is {}x{} pixels, more than the {}-megapixel limit", name,
                            header->width, header->height, limits.maxPixels / 1'000'000));
  }
  if (header->width < limits.minSide || header->height < limits.minSide) {
    return fail(ErrorCode::ImageTooSmall,
                fmt::format("{} is {}x{} pixels, too small to hold a face (at least {}x{})", name,
                            header->width, header->height, limits.minSide, limits.minSide));
  }
  // imdecode never writes through the buffer; the const_cast only satisfies its signature.
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1,
                    const_cast<std::uint8_t*>(bytes.data()));  // NOLINT
  DecodedImage out;
  try {
    out.bgr = cv::imdecode(raw, cv::IMREAD_COLOR);  // 8-bit BGR, EXIF orientation applied
  } catch (const cv::Exception& e) {
    return fail(ErrorCode::ImageUndecodable,
                fmt::format("{} could not be decoded ({})", name, e.msg));
  }
  if (out.bgr.empty()) {
    return fail(ErrorCode::ImageUndecodable,
                fmt::format("{} could not be decoded (corrupt data)", name));
  }
  if (!keepAlpha || header->format == Format::Jpeg) {
    return out;
  }
  // IMREAD_COLOR drops the alpha channel; a second decode keeps it (PNG and BMP only: JPEG
  // has none). It applies no orientation tag, so it is checked against the colour decode.
  cv::Mat full;
  try {
    full = cv::imdecode(raw, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    wipe(out.bgr);
    return fail(ErrorCode::ImageUndecodable,
                fmt::format("{} could not be decoded ({})", name, e.msg));
  }
  if (full.channels() != 4) {
    wipe(full);
    return out;
  }
  cv::Mat full8;
  if (full.depth() == CV_16U) {
    full.convertTo(full8, CV_8U, 1.0 / 257.0);  // 65535 -> 255
    wipe(full);
  } else {
    full8 = full;
    full.release();
  }
  cv::Mat channels[4];
  cv::split(full8, channels);
  cv::Mat colour;
  cv::merge(channels, 3, colour);
  out.alpha = channels[3];
  channels[3].release();
  const bool linesUp = colour.size() == out.bgr.size() &&
                       cv::norm(colour, out.bgr, cv::NORM_INF) <= 1.0;  // 16-bit rounding
  for (auto& c : channels) {
    wipe(c);
  }
  wipe(colour);
  wipe(full8);
  if (!linesUp) {
    wipe(out.bgr);
    wipe(out.alpha);
    return fail(ErrorCode::ImageUndecodable,
                fmt::format("{} has an alpha channel and an orientation tag that rotates it; its "
                            "transparency cannot be checked: save it without the tag",
                            name));
  }
  return out;
}

// Reads a whole file into memory, within the size limit.
Result<std::vector<std::uint8_t>> readFileBytes(const fs::path& path, const ImageLimits& limits) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    return fail(ErrorCode::FileNotFound, fmt::format("{} does not exist", name));
  }
  if (!fs::is_regular_file(status)) {
    return fail(ErrorCode::FileUnreadable, fmt::format("{} is not a regular file", name));
  }
  const auto size = fs::file_size(path, ec);
  if (ec) {
    return fail(ErrorCode::FileUnreadable, fmt::format("cannot stat {}: {}", name, ec.message()));
  }
  if (size > limits.maxFileBytes) {
    return fail(ErrorCode::ImageTooLarge,
                fmt::format("{} is {} MiB, more than the {} MiB limit for an image", name,
                            size >> 20, limits.maxFileBytes >> 20));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("cannot open {}: {}", name, std::strerror(errno)));
  }
  std::vector<std::uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) {
    secureWipe(bytes.data(), bytes.size());
    return fail(ErrorCode::FileUnreadable, fmt::format("I/O error reading {}", name));
  }
  return bytes;
}

}  // namespace

Result<cv::Mat> decodeImage(std::span<const std::uint8_t> bytes, std::string_view name,
                            const ImageLimits& limits) {
  auto decoded = decodeChecked(bytes, name, limits, false);
  if (!decoded) {
    return tl::unexpected(decoded.error());
  }
  return std::move(decoded->bgr);
}

Result<DecodedImage> decodeImageWithAlpha(std::span<const std::uint8_t> bytes,
                                          std::string_view name, const ImageLimits& limits) {
  return decodeChecked(bytes, name, limits, true);
}

Result<DecodedImage> loadImageWithAlpha(const fs::path& path, const ImageLimits& limits) {
  auto bytes = readFileBytes(path, limits);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  auto decoded = decodeChecked(*bytes, path.string(), limits, true);
  secureWipe(bytes->data(), bytes->size());  // the compressed photo
  return decoded;
}

Result<cv::Mat> loadImage(const fs::path& path, const ImageLimits& limits) {
  auto bytes = readFileBytes(path, limits);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  auto image = decodeImage(*bytes, path.string(), limits);
  secureWipe(bytes->data(), bytes->size());  // the compressed photo
  return image;
}

}  // namespace facegate::face
