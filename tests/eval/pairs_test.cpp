// LFW's pairs.txt parser, image lookup and the choice of scored pairs.
#include "facegate/eval/pairs.hpp"

#include <gtest/gtest.h>

#include <set>

#include "facegate/eval/photo_set.hpp"
#include "test_support.hpp"

namespace facegate::eval {
namespace {

// 2 folds of 1 same-person and 1 different-person pair.
constexpr std::string_view kValid =
    "2\t1\n"
    "Abel_Pacheco\t1\t4\n"
    "Abdel_Madi_Shabneh\t1\tDean_Barker\t1\n"
    "Zico 2 3\n"
    "Zico 1 Abel_Pacheco 2\n";

TEST(Pairs, ParsesFoldsAndKinds) {
  auto parsed = parsePairs(kValid, "pairs.txt");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->folds, 2);
  EXPECT_EQ(parsed->pairsPerFold, 1);
  ASSERT_EQ(parsed->pairs.size(), 4u);
  const auto& first = parsed->pairs[0];
  EXPECT_EQ(first.fold, 0);
  EXPECT_TRUE(first.genuine);
  EXPECT_EQ(first.nameA, "Abel_Pacheco");
  EXPECT_EQ(first.nameB, "Abel_Pacheco");
  EXPECT_EQ(first.indexA, 1);
  EXPECT_EQ(first.indexB, 4);
  EXPECT_EQ(first.line, 2);
  const auto& second = parsed->pairs[1];
  EXPECT_FALSE(second.genuine);
  EXPECT_EQ(second.nameA, "Abdel_Madi_Shabneh");
  EXPECT_EQ(second.nameB, "Dean_Barker");
  EXPECT_EQ(parsed->pairs[2].fold, 1);
  EXPECT_TRUE(parsed->pairs[2].genuine);
  EXPECT_EQ(parsed->pairs[3].fold, 1);
  EXPECT_FALSE(parsed->pairs[3].genuine);
  EXPECT_EQ(parsed->pairs[3].indexB, 2);
}

TEST(Pairs, AcceptsCrlfAndTrailingBlankLines) {
  std::string text;
  for (const char c : kValid) {
    text += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  auto parsed = parsePairs(text + "\r\n\n", "pairs.txt");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->pairs.size(), 4u);
}

struct Malformed {
  std::string text;
  std::string fragment;  // expected in the message, with the line number
};

TEST(Pairs, RejectsEachMalformationWithItsLine) {
  const std::vector<Malformed> cases{
      {"", "pairs.txt:1: the file is empty"},
      {"2 1 7\n", "pairs.txt:1: the header has 2 fields"},
      {"2 x\n", "pairs.txt:1: 'x' in the header is not a whole number"},
      {"2 1\nA 1 2 3\n", "pairs.txt:2: a same-person pair has 3 fields (name i j), got 4"},
      {"2 1\nA 1\n",
       "pairs.txt:2: a same-person pair has 3 fields (name i j), got 2: an image "
       "index is missing"},
      {"2 1\nA 1 two\n", "pairs.txt:2: image index 'two' is not a whole number"},
      {"2 1\nA 0 2\n", "pairs.txt:2: image index '0' is not a whole number from 1"},
      {"2 1\nA 1 2\nA 1 B\n",
       "pairs.txt:3: a different-person pair has 4 fields "
       "(name1 i name2 j), got 3: an image index is missing"},
      {"2 1\nA 1 2\nA 1 B 2.5\n", "pairs.txt:3: image index '2.5' is not a whole number"},
      {"2 1\nA 1 2\nA 1 B 2\nA 1 B 2\n",
       "pairs.txt:4: a same-person pair has 3 fields (name i j), got 4"},
      {"2 1\nA 1 2\n\nC 1 2\n", "pairs.txt:3: a different-person pair has 4 fields"},
      {"2 1\nA 1 2\nA 1 B 2\n", "pairs.txt:4: the file ends after 2 pairs"},
      {std::string(kValid) + "C 1 2\n", "pairs.txt:6: extra line"},
  };
  for (const auto& [text, fragment] : cases) {
    auto parsed = parsePairs(text, "pairs.txt");
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(parsed.error().message.find(fragment), std::string::npos)
        << "text:\n"
        << text << "message: " << parsed.error().message;
  }
}

TEST(Pairs, ReadsAFileAndNamesAMissingOne) {
  test::TempDir dir;
  test::writeFile(dir / "pairs.txt", std::string(kValid));
  auto parsed = readPairsFile(dir / "pairs.txt");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->pairs.size(), 4u);
  auto missing = readPairsFile(dir / "absent.txt");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::FileNotFound);
  EXPECT_NE(missing.error().message.find("absent.txt"), std::string::npos);
}

TEST(Pairs, FindsLfwAndFixtureImageNames) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "Abel_Pacheco");
  test::writeFile(dir / "Abel_Pacheco/Abel_Pacheco_0004.jpg", "x");
  EXPECT_EQ(findPairImage(dir.path(), "Abel_Pacheco", 4),
            dir.path() / "Abel_Pacheco" / "Abel_Pacheco_0004.jpg");
  EXPECT_FALSE(findPairImage(dir.path(), "Abel_Pacheco", 5).has_value());
  EXPECT_FALSE(findPairImage(dir.path(), "Nobody", 1).has_value());
  const auto faces = test::dataDir() / "faces";
  EXPECT_EQ(findPairImage(faces, "amy", 3), faces / "amy" / "amy_3.png");
  EXPECT_EQ(findPairImage(faces, "obama", 2), faces / "obama" / "obama_2.jpg");
}

TEST(Pairs, ScansPersonFoldersSkippingUnderscoreOnes) {
  auto set = scanPhotoSet(test::dataDir() / "faces");
  ASSERT_TRUE(set.has_value()) << set.error().message;
  EXPECT_EQ(set->persons.size(), 13u);
  EXPECT_EQ(set->images.size(), 52u);
  for (const auto& image : set->images) {
    EXPECT_EQ(image.file.parent_path().filename().string(),
              set->persons[static_cast<std::size_t>(image.person)]);
  }
  test::TempDir empty;
  auto none = scanPhotoSet(empty.path());
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("holds no person folder"), std::string::npos);
  EXPECT_EQ(scanPhotoSet(empty / "absent").error().code, ErrorCode::FileNotFound);
}

TEST(Pairs, SelectsEveryPairWhenFew) {
  const auto selection = selectPairs({0, 0, 1, 1, 2}, 100, 1);
  EXPECT_EQ(selection.genuine.size(), 2u);
  EXPECT_EQ(selection.impostor.size(), 8u);
  EXPECT_EQ(selection.impostorPossible, 8u);
  EXPECT_FALSE(selection.impostorSampled);
}

TEST(Pairs, SamplesDistinctImpostorPairsReproducibly) {
  std::vector<int> person;
  for (int p = 0; p < 20; ++p) {
    person.insert(person.end(), {p, p, p});
  }
  const auto a = selectPairs(person, 100, 7);
  EXPECT_EQ(a.genuine.size(), 60u);
  EXPECT_EQ(a.impostorPossible, 60u * 59u / 2u - 60u);
  EXPECT_TRUE(a.impostorSampled);
  ASSERT_EQ(a.impostor.size(), 100u);
  std::set<std::pair<std::size_t, std::size_t>> distinct;
  for (const auto& [i, j] : a.impostor) {
    EXPECT_LT(i, j);
    EXPECT_NE(person[i], person[j]);
    distinct.insert({i, j});
  }
  EXPECT_EQ(distinct.size(), 100u);
  EXPECT_EQ(selectPairs(person, 100, 7).impostor, a.impostor);
  EXPECT_NE(selectPairs(person, 100, 8).impostor, a.impostor);
}

}  // namespace
}  // namespace facegate::eval
