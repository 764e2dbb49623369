// The gate protocol's arithmetic on made-up embeddings: which photos are probes, how a
// passage is fused, what is genuine and what impostor.
#include "facegate/eval/gate_protocol.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace facegate::eval {
namespace {

// An embedding at `x` on the first axis (distances are then |x - y|).
face::Embedding at(float x) {
  face::Embedding e;
  e.values()[0] = x;
  return e;
}

// One image per value; nullopt is an image without a usable face.
std::vector<ImageEmbedding> images(const std::vector<std::optional<float>>& xs) {
  std::vector<ImageEmbedding> out;
  for (const auto& x : xs) {
    ImageEmbedding e;
    if (x) {
      e.embedding = at(*x);
    } else {
      e.problem = "no face was found";
    }
    out.push_back(std::move(e));
  }
  return out;
}

PhotoSet setOf(const std::vector<int>& persons) {
  PhotoSet set;
  int most = 0;
  for (std::size_t i = 0; i < persons.size(); ++i) {
    set.images.push_back(
        {"p" + std::to_string(persons[i]) + "/" + std::to_string(i) + ".jpg", persons[i]});
    most = std::max(most, persons[i]);
  }
  for (int p = 0; p <= most; ++p) {
    set.persons.push_back("p" + std::to_string(p));
  }
  return set;
}

TEST(GateProtocol, APassageIsAsFarAsItsFarthestFrame) {
  const auto embedded = images({0.1F, 0.4F, std::nullopt});
  const face::Embedding templ = at(0.0F);
  const std::vector<std::size_t> both{0, 1};
  EXPECT_NEAR(*passageDistance(templ, both, embedded), 0.4, 1e-6);
  // Every frame must match: one frame without a face leaves the passage undecided.
  const std::vector<std::size_t> withMissing{0, 2};
  EXPECT_FALSE(passageDistance(templ, withMissing, embedded).has_value());
}

TEST(GateProtocol, MeanEmbeddingFusionMeasuresTheFramesMean) {
  const auto embedded = images({0.1F, 0.4F, std::nullopt, -0.4F});
  const face::Embedding templ = at(0.0F);
  const std::vector<std::size_t> both{0, 1};
  EXPECT_NEAR(*passageDistance(templ, both, embedded, PassageFusion::MeanEmbedding), 0.25, 1e-6);
  const std::vector<std::size_t> opposite{1, 3};
  EXPECT_NEAR(*passageDistance(templ, opposite, embedded, PassageFusion::MeanEmbedding), 0.0, 1e-6);
  EXPECT_NEAR(*passageDistance(templ, opposite, embedded, PassageFusion::FarthestFrame), 0.4, 1e-6);
  const std::vector<std::size_t> withMissing{0, 2};
  EXPECT_FALSE(
      passageDistance(templ, withMissing, embedded, PassageFusion::MeanEmbedding).has_value());
}

TEST(GateProtocol, ShuffleKeepsEachPersonsImagesAndIsSeeded) {
  const PhotoSet set = setOf({0, 0, 0, 0, 1, 1, 2});
  const auto a = shuffledImagesByPerson(set, 7);
  const auto b = shuffledImagesByPerson(set, 7);
  ASSERT_EQ(a.size(), 3U);
  EXPECT_EQ(a, b);
  auto sorted = a[0];
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(a[2], (std::vector<std::size_t>{6}));
}

TEST(GateProtocol, EnrolmentPhotosAreNeverProbesAndImpostorsAreEveryoneElse) {
  // Person 0: photos 0, 1 enrol (at 0.0), probes 2 (0.1) and 3 (0.3). Person 1: photos 4
  // (1.0) and 5 (no face). Person 2: photo 6 (0.2).
  const auto embedded = images({0.0F, 0.0F, 0.1F, 0.3F, 1.0F, std::nullopt, 0.2F});
  const std::vector<std::vector<std::size_t>> order{{0, 1, 2, 3}, {4, 5}, {6}};
  std::vector<EnrolledPerson> enrolled;
  enrolled.push_back({0, at(0.0F), {0, 1}});
  GateProtocolSettings settings;
  settings.framesPerPassage = 1;
  const GateScores one = scoreGateProtocol(enrolled, order, embedded, settings);
  ASSERT_EQ(one.genuine.size(), 2U);
  EXPECT_NEAR(one.genuine[0], 0.1, 1e-6);
  EXPECT_NEAR(one.genuine[1], 0.3, 1e-6);
  ASSERT_EQ(one.impostor.size(), 2U);  // photos 4 and 6; photo 5 has no face
  EXPECT_EQ(one.impostorUnacquired, 1U);
  EXPECT_EQ(one.genuineUnacquired, 0U);

  // Two frames per passage: person 0's probes make one passage (max 0.3); person 1's one
  // passage has a frame without a face; person 2 has too few photos for a passage.
  settings.framesPerPassage = 2;
  const GateScores two = scoreGateProtocol(enrolled, order, embedded, settings);
  ASSERT_EQ(two.genuine.size(), 1U);
  EXPECT_NEAR(two.genuine[0], 0.3, 1e-6);
  EXPECT_TRUE(two.impostor.empty());
  EXPECT_EQ(two.impostorUnacquired, 1U);

  // At most one passage per person.
  settings.framesPerPassage = 1;
  settings.maxPassagesPerPerson = 1;
  const GateScores capped = scoreGateProtocol(enrolled, order, embedded, settings);
  EXPECT_EQ(capped.genuine.size(), 1U);
  EXPECT_EQ(capped.impostor.size() + capped.impostorUnacquired, 2U);
}

}  // namespace
}  // namespace facegate::eval
