// The one template builder: photo checks (transparency, enlargement and the older ones), the
// agreement of the photos with each other, and the bounds measured on the fixtures and on
// the LFW development set (when it is beside the source tree).
#include "facegate/enrolment/template_builder.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facegate/eval/photo_set.hpp"
#include "facegate/face/image_file.hpp"
#include "test_support.hpp"

namespace facegate::enrolment {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& relative) {
  return test::dataDir() / "faces" / relative;
}

// An embedding with `value` in component `at` and zeros elsewhere: distances are easy to
// reason about (two of them are |a - b| apart on one axis, or sqrt(a^2 + b^2) on two).
face::Embedding axis(std::size_t at, float value) {
  face::Embedding e;
  e.values()[at] = value;
  return e;
}

// Every enrolment photo would pass the gate against its own template, whatever the
// threshold; the photos' agreement with each other does not tighten below the photo scale
// (0.58): a gate calibrated for averaged templates does not make two photos of one person
// more alike.
TEST(AgreementBounds, EachPhotoPassesTheGateAndPairsKeepThePhotoScale) {
  for (const double threshold :
       {0.30, 0.44, 0.48, 0.50, face::kDefaultMatchThreshold, 0.58, 0.60, 1.0}) {
    auto b = agreementBoundsFor(threshold);
    ASSERT_TRUE(b) << threshold;
    EXPECT_LT(b->maxTemplateDistance, threshold) << threshold;
    EXPECT_LT(b->maxTemplateDistance, b->maxPairDistance) << threshold;
    EXPECT_GT(b->maxTemplateDistance, 0.0) << threshold;
    EXPECT_NEAR(b->maxPairDistance, 0.9 * std::max(threshold, 0.58), 1e-12) << threshold;
  }
  EXPECT_NEAR(agreementBoundsFor(0.44)->maxTemplateDistance, 0.348, 1e-12);
  EXPECT_NEAR(agreementBoundsFor(0.30)->maxTemplateDistance, 0.27, 1e-12);
  for (const double bad : {0.0, -0.1, 2.5, std::nan("")}) {
    const auto b = agreementBoundsFor(bad);
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().code, ErrorCode::InvalidArgument);
  }
}

TEST(Agreement, FindsTheOnePhotoOfSomeoneElse) {
  const AgreementBounds b{0.5, 0.35};
  std::vector<face::Embedding> set;
  set.push_back(axis(0, 0.0F));
  set.push_back(axis(0, 0.2F));
  set.push_back(axis(1, 0.9F));  // someone else
  const auto a = checkAgreement(set, b);
  EXPECT_FALSE(a.agrees);
  ASSERT_TRUE(a.outlier);
  EXPECT_EQ(*a.outlier, 2U);
  EXPECT_NEAR(a.largestPairDistance, std::sqrt(0.2 * 0.2 + 0.9 * 0.9), 1e-6);
}

TEST(Agreement, NoOutlierAmongThreeStrangersOrTwoPhotos) {
  const AgreementBounds b{0.5, 0.35};
  std::vector<face::Embedding> three;
  three.push_back(axis(0, 0.8F));
  three.push_back(axis(1, 0.8F));
  three.push_back(axis(2, 0.8F));
  const auto a = checkAgreement(three, b);
  EXPECT_FALSE(a.agrees);
  EXPECT_FALSE(a.outlier);

  std::vector<face::Embedding> two;
  two.push_back(axis(0, 0.0F));
  two.push_back(axis(0, 0.6F));
  const auto pair = checkAgreement(two, b);
  EXPECT_FALSE(pair.agrees);
  EXPECT_FALSE(pair.outlier) << "with two photos nobody can tell which one is wrong";
  EXPECT_EQ(pair.pairFirst, 0U);
  EXPECT_EQ(pair.pairSecond, 1U);
}

TEST(Agreement, EachPhotoAgainstTheTemplateToo) {
  // Five photos: four alike, the fifth 0.5 from each of them, within the pair bound; but the
  // mean sits with the four, 0.4 from the fifth, over a template bound of 0.35. (With three
  // photos a photo is at most 2/3 of the largest pair distance from the mean.)
  const AgreementBounds b{0.5, 0.35};
  std::vector<face::Embedding> set;
  for (int i = 0; i < 4; ++i) {
    set.push_back(axis(0, 0.0F));
  }
  set.push_back(axis(1, 0.5F));
  const auto a = checkAgreement(set, b);
  EXPECT_LE(a.largestPairDistance, 0.5 + 1e-6);
  EXPECT_NEAR(a.largestTemplateDistance, 0.4, 1e-6);
  EXPECT_FALSE(a.agrees);
  EXPECT_EQ(a.farthest, 4U);
  ASSERT_TRUE(a.outlier);
  EXPECT_EQ(*a.outlier, 4U);
}

TEST(Agreement, OnePhotoAgreesWithItselfAndTheMeanIsTheMean) {
  std::vector<face::Embedding> one;
  one.push_back(axis(3, 0.4F));
  EXPECT_TRUE(checkAgreement(one, AgreementBounds{0.1, 0.1}).agrees);
  std::vector<face::Embedding> two;
  two.push_back(axis(3, 0.4F));
  two.push_back(axis(3, 0.2F));
  EXPECT_NEAR(meanEmbedding(two).values()[3], 0.3F, 1e-7);
}

// --- with the real engine -------------------------------------------------------------

class Builder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::modelsUnavailable()) {
      return;
    }
    auto engine = face::FaceEngine::load(test::modelDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = std::move(*engine);
  }
  static void TearDownTestSuite() { engine_.reset(); }
  void SetUp() override { FACEGATE_REQUIRE_MODELS(); }

  TemplateBuilder builder() {
    auto b = TemplateBuilder::create(*engine_);
    EXPECT_TRUE(b);
    return std::move(*b);
  }

  static face::Embedding embed(const fs::path& file) {
    auto image = face::loadImage(file);
    EXPECT_TRUE(image) << file;
    auto d = engine_->describeLargest(*image);
    EXPECT_TRUE(d) << file;
    return d ? std::move(d->embedding) : face::Embedding();
  }

  static inline std::unique_ptr<face::FaceEngine> engine_;
  test::TempDir dir_;
};

// The review's case: penny, howard and sheldon made one template that granted all three.
TEST_F(Builder, RefusesThreePeopleInOneEnrolment) {
  auto b = builder();
  for (const char* photo : {"penny/penny_1.png", "howard/howard_1.png", "sheldon/sheldon_1.png"}) {
    EXPECT_EQ(b.addFile(fixture(photo)).problem, PhotoProblem::None) << photo;
  }
  const auto templ = b.build();
  ASSERT_FALSE(templ);
  EXPECT_EQ(templ.error().code, ErrorCode::Refused);
  EXPECT_NE(templ.error().message.find("do not show the same person"), std::string::npos)
      << templ.error().message;
  const auto marked = std::count_if(b.photos().begin(), b.photos().end(), [](const auto& r) {
    return r.problem == PhotoProblem::Disagrees;
  });
  EXPECT_EQ(marked, 2) << "the farthest pair is named";
  ASSERT_TRUE(b.agreement());
  EXPECT_FALSE(b.agreement()->outlier);
}

TEST_F(Builder, NamesThePhotoOfSomeoneElse) {
  auto b = builder();
  for (const char* photo : {"penny/penny_1.png", "penny/penny_2.png", "howard/howard_1.png"}) {
    b.addFile(fixture(photo));
  }
  const auto templ = b.build();
  ASSERT_FALSE(templ);
  const std::string& message = templ.error().message;
  EXPECT_NE(message.find("howard_1.png does not show the same person as the other photos"),
            std::string::npos)
      << message;
  EXPECT_EQ(b.photos()[2].problem, PhotoProblem::Disagrees);
  EXPECT_EQ(b.photos()[0].problem, PhotoProblem::None);
  EXPECT_EQ(b.photos()[1].problem, PhotoProblem::None);

  // Two photos of two people: both named, neither blamed alone.
  auto two = builder();
  two.addFile(fixture("penny/penny_1.png"));
  two.addFile(fixture("sheldon/sheldon_1.png"));
  const auto pair = two.build();
  ASSERT_FALSE(pair);
  EXPECT_NE(pair.error().message.find("penny_1.png and "), std::string::npos)
      << pair.error().message;
  EXPECT_NE(pair.error().message.find("sheldon_1.png do not show"), std::string::npos)
      << pair.error().message;
}

TEST_F(Builder, TheTemplateIsTheMeanOfTheAgreeingPhotos) {
  auto b = builder();
  std::vector<face::Embedding> each;
  for (const char* photo : {"penny/penny_1.png", "penny/penny_2.png", "penny/penny_4.png"}) {
    ASSERT_EQ(b.addFile(fixture(photo)).problem, PhotoProblem::None) << photo;
    each.push_back(embed(fixture(photo)));
  }
  const auto templ = b.build();
  ASSERT_TRUE(templ) << templ.error().message;
  EXPECT_LT(face::distance(*templ, meanEmbedding(each)), 1e-6);
  for (const auto& r : b.photos()) {
    ASSERT_TRUE(r.templateDistance);
    EXPECT_LE(*r.templateDistance, b.bounds().maxTemplateDistance);
  }
  EXPECT_TRUE(face::isMatch(face::distance(*templ, embed(fixture("penny/penny_5.png"))),
                            face::kDefaultMatchThreshold));
}

// The demo enrols its volunteers from their first three photos, except penny: her third
// photo is 0.540 from her first (0.524 from her second), over the pair bound (0.522), and
// her fourth and fifth are her at the gate and the print an attacker holds up.
TEST_F(Builder, TheDemoVolunteersEnrolmentPhotosAgree) {
  for (const char* who : {"leonard", "sheldon", "bernadette"}) {
    auto b = builder();
    for (int i = 1; i <= 3; ++i) {
      b.addFile(fixture(std::string(who) + "/" + who + "_" + std::to_string(i) + ".png"));
    }
    const auto templ = b.build();
    EXPECT_TRUE(templ) << who << ": " << templ.error().message;
  }
  // penny_3 was refused with penny_1 and penny_2 before embeddings were mirror-averaged;
  // now her three photos agree. A photo of someone else is still named.
  auto penny = builder();
  for (int i = 1; i <= 3; ++i) {
    penny.addFile(fixture("penny/penny_" + std::to_string(i) + ".png"));
  }
  EXPECT_TRUE(penny.build());
  auto mixed = builder();
  mixed.addFile(fixture("penny/penny_1.png"));
  mixed.addFile(fixture("penny/penny_2.png"));
  mixed.addFile(fixture("howard/howard_1.png"));
  const auto refused = mixed.build();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("howard_1.png does not show the same person"),
            std::string::npos)
      << refused.error().message;
  auto two = builder();
  two.addFile(fixture("penny/penny_1.png"));
  two.addFile(fixture("penny/penny_2.png"));
  EXPECT_TRUE(two.build());
}

// Every fixture photo with one face passes the photo checks, the new ones included; the only
// fixture refused is stuart_5 (no face the detector accepts), as before.
TEST_F(Builder, EveryFixturePhotoPassesThePhotoChecks) {
  auto set = eval::scanPhotoSet(test::dataDir() / "faces");
  ASSERT_TRUE(set);
  int passed = 0;
  for (const auto& image : set->images) {
    auto b = builder();
    const auto& report = b.addFile(image.file);
    if (image.file.filename() == "stuart_5.png") {
      EXPECT_EQ(report.problem, PhotoProblem::NoFace);
      continue;
    }
    EXPECT_EQ(report.problem, PhotoProblem::None) << report.reason;
    EXPECT_EQ(report.quality.enlargement, 1) << image.file;
    passed += report.problem == PhotoProblem::None ? 1 : 0;
  }
  EXPECT_EQ(passed, 51);
}

// The measured bounds on the fixtures (enrolment_bench prints the same): no mixed set of any
// kind is accepted; of the 78 sets of three photos of one person, 13 are refused: 8 of
// leonard's 10 (his photos are up to 0.570 apart, the largest genuine distance of the set)
// and the 5 of penny's with penny_3 and penny_1 or penny_2.
TEST_F(Builder, FixtureSetsOfOnePersonAgreeAndMixedSetsNever) {
  auto set = eval::scanPhotoSet(test::dataDir() / "faces");
  ASSERT_TRUE(set);
  std::vector<face::Embedding> e;
  std::vector<int> person;
  std::vector<std::string> name;
  for (const auto& image : set->images) {
    if (image.file.filename() == "stuart_5.png") {
      continue;
    }
    e.push_back(embed(image.file));
    person.push_back(image.person);
    name.push_back(image.file.filename().string());
  }
  const auto bounds = agreementBoundsFor(face::kDefaultMatchThreshold);
  ASSERT_TRUE(bounds);
  const auto agree = [&](std::initializer_list<std::size_t> idx) {
    std::vector<const face::Embedding*> s;
    for (const auto i : idx) {
      s.push_back(&e[i]);
    }
    return checkAgreement(s, *bounds).agrees;
  };
  int same = 0;
  int sameRefused = 0;
  int mixed = 0;
  int mixedAccepted = 0;
  const std::size_t n = e.size();
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      for (std::size_t c = b + 1; c < n; ++c) {
        const bool ab = person[a] == person[b];
        const bool bc = person[b] == person[c];
        const bool ac = person[a] == person[c];
        const bool ok = agree({a, b, c});
        if (ab && bc) {
          ++same;
          if (!ok) {
            ++sameRefused;
            const bool known = name[a].starts_with("leonard") ||
                               (name[a].starts_with("penny") &&
                                (name[b] == "penny_3.png" || name[c] == "penny_3.png"));
            EXPECT_TRUE(known) << name[a] << " " << name[b] << " " << name[c];
          }
        } else {
          ++mixed;
          mixedAccepted += ok ? 1 : 0;
          EXPECT_FALSE(ok) << name[a] << " " << name[b] << " " << name[c] << " accepted";
        }
        (void)ac;
      }
    }
  }
  EXPECT_EQ(same, 78);
  EXPECT_EQ(sameRefused, 6);  // 13 before mirror averaging
  EXPECT_GT(mixed, 20000);
  EXPECT_EQ(mixedAccepted, 0);
}

// --- photo checks: transparency and enlargement ----------------------------------------

TEST_F(Builder, RefusesAPhotoWhoseFaceIsTransparent) {
  const cv::Mat penny = cv::imread(fixture("penny/penny_1.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(penny.empty());
  cv::Mat bgra;
  cv::cvtColor(penny, bgra, cv::COLOR_BGR2BGRA);
  std::vector<cv::Mat> channels;
  cv::split(bgra, channels);

  // Fully transparent: a viewer sees an empty picture; the pixels under it hold penny.
  channels[3].setTo(0);
  cv::Mat invisible;
  cv::merge(channels, invisible);
  ASSERT_TRUE(cv::imwrite((dir_ / "invisible.png").string(), invisible));
  // Only the middle of the face hidden (a transparent hole over it).
  channels[3].setTo(255);
  cv::rectangle(channels[3], cv::Rect(40, 40, 70, 70), cv::Scalar(20), cv::FILLED);
  cv::Mat holed;
  cv::merge(channels, holed);
  ASSERT_TRUE(cv::imwrite((dir_ / "holed.png").string(), holed));
  // The background cut away, the face itself opaque: a usual portrait, accepted.
  channels[3].setTo(0);
  cv::ellipse(channels[3], cv::Point(75, 78), cv::Size(68, 74), 0, 0, 360, cv::Scalar(255),
              cv::FILLED);
  cv::Mat cutOut;
  cv::merge(channels, cutOut);
  ASSERT_TRUE(cv::imwrite((dir_ / "cut_out.png").string(), cutOut));

  for (const char* file : {"invisible.png", "holed.png"}) {
    auto b = builder();
    const auto& report = b.addFile(dir_ / file);
    EXPECT_EQ(report.problem, PhotoProblem::Transparent) << file << ": " << report.reason;
    EXPECT_NE(report.reason.find(file), std::string::npos) << report.reason;
    EXPECT_NE(report.reason.find("transparent"), std::string::npos) << report.reason;
    EXPECT_FALSE(b.build());
  }
  auto b = builder();
  const auto& report = b.addFile(dir_ / "cut_out.png");
  EXPECT_EQ(report.problem, PhotoProblem::None) << report.reason;
  EXPECT_LT(report.hiddenShare, 0.10);
}

// Enlargements made here from reduced copies of fixtures (faces of 70 to 90 px), enlarged 2x
// and 4x, nearest and bicubic, to faces of 125 to 370 px. Each is refused as enlarged; the
// same crop kept at its size is refused as too small, as before.
TEST_F(Builder, RefusesAnEnlargedSmallFace) {
  struct Source {
    const char* photo;
    double scale;
  };
  int refused = 0;
  for (const Source source :
       {Source{"penny/penny_1.png", 0.6}, Source{"howard/howard_2.png", 0.7},
        Source{"sheldon/sheldon_1.png", 0.6}, Source{"obama/obama_1.jpg", 0.3}}) {
    const cv::Mat photo = cv::imread(fixture(source.photo).string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(photo.empty());
    cv::Mat small;
    cv::resize(photo, small, cv::Size(), source.scale, source.scale, cv::INTER_AREA);
    {
      auto b = builder();
      const auto& report = b.addImage("small", small);
      EXPECT_EQ(report.problem, PhotoProblem::TooSmall) << source.photo << ": " << report.reason;
    }
    for (const int k : {2, 4}) {
      for (const int how : {cv::INTER_NEAREST, cv::INTER_CUBIC}) {
        cv::Mat big;
        cv::resize(small, big, cv::Size(), k, k, how);
        const std::string name = fmt::format("{} x{} {}", source.photo, k,
                                             how == cv::INTER_NEAREST ? "nearest" : "bicubic");
        auto b = builder();
        const auto& report = b.addImage(name, big);
        EXPECT_EQ(report.problem, PhotoProblem::Enlarged)
            << name << ": " << report.reason << " (face " << report.quality.sidePx
            << " px, sharpness " << report.quality.sharpness << ")";
        EXPECT_GE(report.quality.sidePx, 100) << name << ": large enough in pixels";
        EXPECT_LT(report.quality.detailSidePx, 100) << name;
        refused += report.problem == PhotoProblem::Enlarged ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(refused, 16);
}

// A photo that was only reduced (a large face made smaller) is not taken for an enlargement.
TEST_F(Builder, AReducedPhotoIsNotAnEnlargement) {
  const cv::Mat photo = cv::imread(fixture("obama/obama_2.jpg").string(), cv::IMREAD_COLOR);
  for (const double scale : {0.5, 0.7}) {
    cv::Mat reduced;
    cv::resize(photo, reduced, cv::Size(), scale, scale, cv::INTER_AREA);
    auto b = builder();
    const auto& report = b.addImage("reduced", reduced);
    EXPECT_EQ(report.problem, PhotoProblem::None) << scale << ": " << report.reason;
    EXPECT_EQ(report.quality.enlargement, 1) << scale;
  }
}

// --- the LFW development set, when it is there ------------------------------------------

// This sample measured 364 of 1,252 same-person sets refused (29.1 %; enrolment_bench: 31.3 %
// of 7,430) and 3 of 20,000 mixed sets accepted (enrolment_bench: 42 of 200,000).
constexpr double kLfwMaxSameRefused = 0.33;
constexpr double kLfwMaxMixedAccepted = 0.0005;

fs::path lfwDir() {
  return fs::path(FACEGATE_SOURCE_DIR) / ".." / "shared" / "data" / "lfw-dev" / "images";
}

// A seeded sample of the research set: 3-photo sets of one person and mixed sets, judged by
// the bounds in force. The full measurement (5,373 images) is tests/bench/enrolment_bench;
// this keeps its figures from drifting: refusals of same-person sets and acceptances of
// mixed ones stay under what it measured, with room for the sample's own noise.
TEST_F(Builder, LfwSampleStaysWithinTheMeasuredRates) {
  std::error_code ec;
  if (!fs::is_directory(lfwDir(), ec)) {
    GTEST_SKIP() << lfwDir().lexically_normal().string()
                 << " is absent (the LFW development set beside the source tree, ../shared)";
  }
  auto set = eval::scanPhotoSet(lfwDir());
  ASSERT_TRUE(set);
  // Every person with >= 3 photos, at most 4 photos each, in name order: ~1,600 images.
  std::vector<std::vector<fs::path>> people(set->persons.size());
  for (const auto& image : set->images) {
    people[static_cast<std::size_t>(image.person)].push_back(image.file);
  }
  std::vector<fs::path> files;
  std::vector<int> owner;
  int id = 0;
  for (const auto& photos : people) {
    if (photos.size() < 3) {
      continue;
    }
    for (std::size_t i = 0; i < std::min<std::size_t>(photos.size(), 4); ++i) {
      files.push_back(photos[i]);
      owner.push_back(id);
    }
    ++id;
  }
  ASSERT_GT(id, 300);
  auto embedded = eval::embedImages(files, test::modelDir(), eval::EmbedOptions{});
  ASSERT_TRUE(embedded) << embedded.error().message;
  std::vector<std::vector<std::size_t>> byPerson(static_cast<std::size_t>(id));
  std::vector<face::Embedding> e;
  std::vector<int> person;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if ((*embedded)[i].embedding) {
      byPerson[static_cast<std::size_t>(owner[i])].push_back(e.size());
      person.push_back(owner[i]);
      e.push_back(std::move(*(*embedded)[i].embedding));
    }
  }
  const auto bounds = agreementBoundsFor(face::kDefaultMatchThreshold);
  ASSERT_TRUE(bounds);
  const auto agree = [&](const std::vector<std::size_t>& idx) {
    std::vector<const face::Embedding*> s;
    for (const auto i : idx) {
      s.push_back(&e[i]);
    }
    return checkAgreement(s, *bounds).agrees;
  };
  int same = 0;
  int sameRefused = 0;
  for (const auto& photos : byPerson) {
    for (std::size_t a = 0; a < photos.size(); ++a) {
      for (std::size_t b = a + 1; b < photos.size(); ++b) {
        for (std::size_t c = b + 1; c < photos.size(); ++c) {
          ++same;
          sameRefused += agree({photos[a], photos[b], photos[c]}) ? 0 : 1;
        }
      }
    }
  }
  std::mt19937_64 random(11);
  std::uniform_int_distribution<std::size_t> pick(0, e.size() - 1);
  int mixed = 0;
  int mixedAccepted = 0;
  while (mixed < 20000) {
    const std::size_t a = pick(random);
    const auto& ofA = byPerson[static_cast<std::size_t>(person[a])];
    const std::size_t a2 = ofA[pick(random) % ofA.size()];
    const std::size_t b = pick(random);
    if (a2 == a || person[b] == person[a]) {
      continue;
    }
    ++mixed;
    mixedAccepted += agree({a, a2, b}) ? 1 : 0;
  }
  const double refusedShare = static_cast<double>(sameRefused) / same;
  const double acceptedShare = static_cast<double>(mixedAccepted) / mixed;
  std::cout << "LFW sample: " << e.size() << " images of " << id << " people; " << sameRefused
            << " of " << same << " same-person sets refused, " << mixedAccepted << " of " << mixed
            << " mixed 2+1 sets accepted\n";
  EXPECT_LT(refusedShare, kLfwMaxSameRefused) << sameRefused << " of " << same;
  EXPECT_LT(acceptedShare, kLfwMaxMixedAccepted) << mixedAccepted << " of " << mixed;
}

}  // namespace
}  // namespace facegate::enrolment
