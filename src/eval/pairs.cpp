#include "facegate/eval/pairs.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace facegate::eval {
namespace {

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
      ++i;
    }
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      ++i;
    }
    if (i > start) {
      fields.push_back(line.substr(start, i - start));
    }
  }
  return fields;
}

// A whole number in [1, 1000000]; nullopt otherwise.
std::optional<int> parsePositive(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 1 || value > 1'000'000) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

Result<PairsProtocol> parsePairs(std::string_view text, std::string_view name) {
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  while (!lines.empty() && splitFields(lines.back()).empty()) {
    lines.pop_back();
  }
  auto bad = [&](std::size_t lineIndex, const std::string& what) {
    return fail(ErrorCode::InvalidArgument, fmt::format("{}:{}: {}", name, lineIndex + 1, what));
  };
  if (lines.empty()) {
    return fail(
        ErrorCode::InvalidArgument,
        fmt::format("{}:1: the file is empty; expected a header 'N_FOLDS N_PER_FOLD'", name));
  }

  PairsProtocol protocol;
  const auto header = splitFields(lines[0]);
  if (header.size() != 2) {
    return bad(0,
               fmt::format("the header has 2 fields (N_FOLDS N_PER_FOLD), got {}", header.size()));
  }
  for (const std::string_view field : header) {
    if (!parsePositive(field)) {
      return bad(0, fmt::format("'{}' in the header is not a whole number from 1", field));
    }
  }
  protocol.folds = *parsePositive(header[0]);
  protocol.pairsPerFold = *parsePositive(header[1]);
  const std::size_t expected = static_cast<std::size_t>(protocol.folds) *
                               static_cast<std::size_t>(protocol.pairsPerFold) * 2;

  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t n = i - 1;  // 0-based pair number
    if (n >= expected) {
      return bad(i, fmt::format("extra line: the header announces {} folds of {} + {} pairs ({} "
                                "lines), which end on line {}",
                                protocol.folds, protocol.pairsPerFold, protocol.pairsPerFold,
                                expected, expected + 1));
    }
    const auto perFold = static_cast<std::size_t>(protocol.pairsPerFold);
    ProtocolPair pair;
    pair.fold = static_cast<int>(n / (2 * perFold));
    pair.genuine = n % (2 * perFold) < perFold;
    pair.line = static_cast<int>(i + 1);
    const auto fields = splitFields(lines[i]);
    const std::size_t want = pair.genuine ? 3 : 4;
    const char* shape = pair.genuine ? "a same-person pair has 3 fields (name i j)"
                                     : "a different-person pair has 4 fields (name1 i name2 j)";
    if (fields.size() != want) {
      return bad(i, fmt::format("{}, got {}{}", shape, fields.size(),
                                fields.size() + 1 == want ? ": an image index is missing" : ""));
    }
    const std::vector<std::size_t> indexFields =
        pair.genuine ? std::vector<std::size_t>{1, 2} : std::vector<std::size_t>{1, 3};
    for (const std::size_t f : indexFields) {
      if (!parsePositive(fields[f])) {
        return bad(i, fmt::format("image index '{}' is not a whole number from 1", fields[f]));
      }
    }
    pair.nameA = std::string(fields[0]);
    pair.indexA = *parsePositive(fields[1]);
    pair.nameB = pair.genuine ? pair.nameA : std::string(fields[2]);
    pair.indexB = *parsePositive(fields[pair.genuine ? 2 : 3]);
    protocol.pairs.push_back(std::move(pair));
  }
  if (protocol.pairs.size() < expected) {
    return bad(lines.size(),
               fmt::format("the file ends after {} pairs, but the header announces {} folds of "
                           "{} + {} pairs ({})",
                           protocol.pairs.size(), protocol.folds, protocol.pairsPerFold,
                           protocol.pairsPerFold, expected));
  }
  return protocol;
}

Result<PairsProtocol> readPairsFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorCode::FileNotFound, fmt::format("{} does not exist", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    return fail(ErrorCode::FileUnreadable,
                fmt::format("{} cannot be read: {}", path.string(), std::strerror(errno)));
  }
  return parsePairs(text.str(), path.string());
}

std::optional<std::filesystem::path> findPairImage(const std::filesystem::path& dir,
                                                   const std::string& name, int index) {
  const std::filesystem::path folder = dir / name;
  for (const std::string& file :
       {fmt::format("{}_{:04}.jpg", name, index), fmt::format("{}_{:04}.png", name, index),
        fmt::format("{}_{}.jpg", name, index), fmt::format("{}_{}.png", name, index)}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(folder / file, ec)) {
      return folder / file;
    }
  }
  return std::nullopt;
}

}  // namespace facegate::eval
