#pragma once

// LFW's pairs.txt: the protocol file of "View 2" (10 folds of 300 same-person and 300
// different-person pairs).
//
//   10 300                 folds, pairs of each kind per fold (tabs or spaces)
//   Abel_Pacheco 1 4       same person: name, image index, image index
//   ...                    (N_PER_FOLD such lines, then)
//   Abdel_Madi_Shabneh 1 Dean_Barker 1   different people: name, index, name, index
//   ...                    (N_PER_FOLD such lines; then the next fold)
//
// Image indices are 1-based. Trailing blank lines are allowed; nothing else is.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/core/error.hpp"

namespace facegate::eval {

struct ProtocolPair {
  int fold = 0;  // 0-based
  bool genuine = false;
  std::string nameA;
  int indexA = 0;
  std::string nameB;  // == nameA for a genuine pair
  int indexB = 0;
  int line = 0;  // 1-based line of the file, for messages
};

struct PairsProtocol {
  int folds = 0;
  int pairsPerFold = 0;  // of each kind
  std::vector<ProtocolPair> pairs;
};

// Parses the text of a pairs file. `name` (the file's path) starts every message, with the
// line number: "pairs.txt:7: a same-person pair has 3 fields (name i j), got 2".
// InvalidArgument for every malformation.
Result<PairsProtocol> parsePairs(std::string_view text, std::string_view name);

// Reads and parses a pairs file. FileNotFound / FileUnreadable, or parsePairs' errors.
Result<PairsProtocol> readPairsFile(const std::filesystem::path& path);

// The image file of `name`'s `index`th photo under `dir`, first existing of:
// name/name_%04d.jpg (LFW), name/name_%04d.png, name/name_i.jpg, name/name_i.png
// (the fixture layout). nullopt when none exists.
std::optional<std::filesystem::path> findPairImage(const std::filesystem::path& dir,
                                                   const std::string& name, int index);

}  // namespace facegate::eval
