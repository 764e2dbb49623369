// What every FaceAnalyser does, run against the dlib engine (real models, fixture photos) and
// against the double the gate's model-free tests use (faces painted in the frame): the double
// is trusted only as far as it behaves like the engine here.
#include "facegate/face/face_analyser.hpp"

#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "facegate/face/engine.hpp"
#include "facegate/face/image_file.hpp"
#include "painted_faces.hpp"
#include "test_support.hpp"

namespace facegate::face {
namespace {

const cv::Size kFrameSize(640, 480);

cv::Mat wall() {
  cv::Mat frame(kFrameSize, CV_8UC3);
  for (int y = 0; y < frame.rows; ++y) {
    const auto shade = static_cast<unsigned char>(150 + 40 * y / frame.rows);
    frame.row(y).setTo(cv::Scalar(shade - 10, shade, shade + 5));
  }
  return frame;
}

Embedding someEmbedding(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> component(0.0F, 0.09F);
  Embedding e;
  for (auto& v : e.values()) {
    v = component(rng);
  }
  return e;
}

// An analyser and a way to put one of three people in a frame, as it can see them.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual FaceAnalyser& analyser() = 0;
  // Shows person `who` (0, 1 or 2) standing at `where` in `frame`.
  virtual void place(cv::Mat& frame, int who, const cv::Rect& where) = 0;
};

// The product's engine, as the daemon runs it; people are fixture photos (150x150 face chips)
// enlarged into their place.
class DlibBackend final : public Backend {
 public:
  static std::unique_ptr<DlibBackend> create() {
    auto backend = std::make_unique<DlibBackend>();
    EngineOptions options;
    options.upsampleWhenNoFace = false;
    auto engine = FaceEngine::load(test::modelDir(), options);
    if (!engine) {
      ADD_FAILURE() << engine.error().message;
      return nullptr;
    }
    backend->engine_ = std::move(*engine);
    for (const char* photo :
         {"penny/penny_5.png", "howard/howard_2.png", "leonard/leonard_4.png"}) {
      auto image = loadImage(test::dataDir() / "faces" / photo);
      if (!image) {
        ADD_FAILURE() << image.error().message;
        return nullptr;
      }
      backend->photos_.push_back(*image);
    }
    return backend;
  }
  FaceAnalyser& analyser() override { return *engine_; }
  void place(cv::Mat& frame, int who, const cv::Rect& where) override {
    cv::Mat resized;
    cv::resize(photos_.at(static_cast<std::size_t>(who)), resized, where.size(), 0, 0,
               cv::INTER_CUBIC);
    resized.copyTo(frame(where));
  }

 private:
  std::unique_ptr<FaceEngine> engine_;
  std::vector<cv::Mat> photos_;
};

class PaintedBackend final : public Backend {
 public:
  PaintedBackend() {
    for (unsigned who = 0; who < 3; ++who) {
      colours_.push_back(faces_.addPerson(someEmbedding(who + 1)));
    }
  }
  FaceAnalyser& analyser() override { return faces_; }
  void place(cv::Mat& frame, int who, const cv::Rect& where) override {
    test::PaintedFaces::paint(frame, where, colours_.at(static_cast<std::size_t>(who)));
  }

 private:
  test::PaintedFaces faces_;
  std::vector<cv::Vec3b> colours_;
};

class FaceAnalyserContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "painted") {
      backend_ = std::make_unique<PaintedBackend>();
      return;
    }
    FACEGATE_REQUIRE_MODELS();
    backend_ = DlibBackend::create();
    ASSERT_TRUE(backend_);
  }

  cv::Mat frameWith(const std::vector<std::pair<int, cv::Rect>>& people) {
    cv::Mat frame = wall();
    for (const auto& [who, where] : people) {
      backend_->place(frame, who, where);
    }
    return frame;
  }

  Detection detect(const cv::Mat& frame) {
    StageTimings ms;
    auto found = backend_->analyser().detect(frame, ms);
    EXPECT_TRUE(found) << found.error().message;
    return found ? std::move(*found) : Detection{};
  }

  // The largest face of a frame, described.
  Embedding describeLargest(const cv::Mat& frame) {
    const Detection found = detect(frame);
    if (found.faces.empty()) {
      ADD_FAILURE() << "no face found";
      return Embedding{};
    }
    StageTimings ms;
    auto embedding = backend_->analyser().describe(frame, found.faces.front(), ms);
    EXPECT_TRUE(embedding) << embedding.error().message;
    return embedding ? std::move(*embedding) : Embedding{};
  }

  // A found face is the person standing at `where`: its centre is on them, and it is about
  // their size (a detector's box is the face, a little smaller or larger than the head).
  static void expectOn(const FaceBox& face, const cv::Rect& where) {
    const cv::Point centre(face.rect.x + face.rect.width / 2, face.rect.y + face.rect.height / 2);
    EXPECT_TRUE(where.contains(centre))
        << "face at " << face.rect << " is not on the person at " << where;
    EXPECT_GT(face.rect.area(), where.area() / 10) << face.rect << " for " << where;
    EXPECT_LT(face.rect.area(), where.area() * 3 / 2) << face.rect << " for " << where;
  }

  std::unique_ptr<Backend> backend_;
};

const cv::Rect kNear(360, 100, 270, 270);  // a pupil at the gate
const cv::Rect kFar(20, 140, 200, 200);    // someone further back

TEST_P(FaceAnalyserContract, RefusesFramesThatAreNotEightBitBgr) {
  const cv::Mat frame = frameWith({{0, kNear}});
  cv::Mat grey;
  cv::cvtColor(frame, grey, cv::COLOR_BGR2GRAY);
  cv::Mat floats;
  frame.convertTo(floats, CV_32FC3);
  const FaceBox box{kNear, 0.0};
  for (const cv::Mat& bad : {cv::Mat(), grey, floats}) {
    StageTimings ms;
    auto found = backend_->analyser().detect(bad, ms);
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().code, ErrorCode::InvalidArgument);
    auto described = backend_->analyser().describe(bad, box, ms);
    ASSERT_FALSE(described);
    EXPECT_EQ(described.error().code, ErrorCode::InvalidArgument);
  }
}

TEST_P(FaceAnalyserContract, FindsNobodyOnABareWall) {
  EXPECT_TRUE(detect(wall()).faces.empty());
}

TEST_P(FaceAnalyserContract, FindsOnePersonWhereTheyStand) {
  const Detection found = detect(frameWith({{0, kNear}}));
  ASSERT_EQ(found.faces.size(), 1U);
  expectOn(found.faces.front(), kNear);
}

TEST_P(FaceAnalyserContract, ListsTheLargerFaceFirst) {
  const Detection found = detect(frameWith({{1, kFar}, {0, kNear}}));
  ASSERT_EQ(found.faces.size(), 2U);
  expectOn(found.faces[0], kNear);
  expectOn(found.faces[1], kFar);
}

TEST_P(FaceAnalyserContract, DescribesOnePersonAlikeAndTwoPeopleApart) {
  const Embedding near = describeLargest(frameWith({{0, kNear}}));
  const Embedding elsewhere = describeLargest(frameWith({{0, cv::Rect(60, 120, 230, 230)}}));
  const Embedding other = describeLargest(frameWith({{2, kNear}}));
  // 0.6: the distance dlib's network was trained to separate people at.
  EXPECT_LT(distance(near, elsewhere), 0.4) << "the same person, moved";
  EXPECT_GT(distance(near, other), 0.6) << "two people";
}

TEST_P(FaceAnalyserContract, DescribesTheFaceItIsGivenNotTheLargest) {
  const cv::Mat frame = frameWith({{1, kFar}, {0, kNear}});
  const Detection found = detect(frame);
  ASSERT_EQ(found.faces.size(), 2U);
  StageTimings ms;
  auto small = backend_->analyser().describe(frame, found.faces[1], ms);
  ASSERT_TRUE(small) << small.error().message;
  const Embedding alone = describeLargest(frameWith({{1, kNear}}));
  const Embedding large = describeLargest(frameWith({{0, kNear}}));
  EXPECT_LT(distance(*small, alone), 0.4);
  EXPECT_GT(distance(*small, large), 0.6);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaceAnalyserContract, ::testing::Values("painted", "dlib"),
                         [](const ::testing::TestParamInfo<std::string>& backend) {
                           return backend.param;
                         });

// --- What only the double promises ----------------------------------------------------------

TEST(PaintedFaces, FindsEachPaintedFaceExactlyWhereItIsPainted) {
  test::PaintedFaces faces;
  const cv::Vec3b a = faces.addPerson(someEmbedding(1));
  const cv::Vec3b b = faces.addPerson(someEmbedding(2));
  cv::Mat frame = wall();
  test::PaintedFaces::paint(frame, cv::Rect(10, 20, 50, 60), a);
  test::PaintedFaces::paint(frame, cv::Rect(300, 200, 120, 100), b);
  test::PaintedFaces::paint(frame, cv::Rect(600, 440, 80, 80), a);  // half outside: clipped
  test::PaintedFaces::paint(frame, cv::Rect(200, 10, 3, 3), b);     // a speck
  StageTimings ms;
  auto found = faces.detect(frame, ms);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->faces.size(), 3U);
  EXPECT_EQ(found->faces[0].rect, cv::Rect(300, 200, 120, 100));
  EXPECT_EQ(found->faces[1].rect, cv::Rect(10, 20, 50, 60));
  EXPECT_EQ(found->faces[2].rect, cv::Rect(600, 440, 40, 40));
  EXPECT_EQ(faces.detectCalls(), 1U);
}

TEST(PaintedFaces, DescribesWhoeverFillsTheBoxAndNobodyOnTheWall) {
  test::PaintedFaces faces;
  const cv::Vec3b a = faces.addPerson(someEmbedding(1));
  const cv::Vec3b b = faces.addPerson(someEmbedding(2));
  cv::Mat frame = wall();
  test::PaintedFaces::paint(frame, cv::Rect(100, 100, 100, 100), a);
  test::PaintedFaces::paint(frame, cv::Rect(180, 100, 100, 100), b);  // overlaps a's right edge
  StageTimings ms;
  auto left = faces.describe(frame, FaceBox{cv::Rect(100, 100, 100, 100), 1.0}, ms);
  auto right = faces.describe(frame, FaceBox{cv::Rect(180, 100, 100, 100), 1.0}, ms);
  ASSERT_TRUE(left && right);
  EXPECT_EQ(distance(*left, someEmbedding(1)), 0.0);
  EXPECT_EQ(distance(*right, someEmbedding(2)), 0.0);
  auto nobody = faces.describe(frame, FaceBox{cv::Rect(400, 300, 100, 100), 1.0}, ms);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, ErrorCode::NoFace);
  auto outside = faces.describe(frame, FaceBox{cv::Rect(700, 500, 50, 50), 1.0}, ms);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, ErrorCode::NoFace);
  EXPECT_EQ(faces.describeCalls(), 4U);
}

TEST(PaintedFaces, GivesEachPersonAColourNoWallOrQrCodeHas) {
  test::PaintedFaces faces;
  std::vector<cv::Vec3b> colours;
  for (std::size_t i = 0; i < test::PaintedFaces::kMaxPeople; ++i) {
    const cv::Vec3b c = faces.addPerson(someEmbedding(static_cast<unsigned>(i)));
    EXPECT_FALSE(c[0] == c[1] && c[1] == c[2]) << "grey: " << c;
    for (const auto& earlier : colours) {
      EXPECT_NE(c, earlier);
    }
    colours.push_back(c);
  }
  EXPECT_THROW(faces.addPerson(someEmbedding(99)), std::length_error);
  // Nothing is found on a wall with a QR code's black and white.
  cv::Mat frame = wall();
  frame(cv::Rect(10, 10, 100, 100)).setTo(cv::Scalar(0, 0, 0));
  frame(cv::Rect(30, 30, 40, 40)).setTo(cv::Scalar(255, 255, 255));
  StageTimings ms;
  auto found = faces.detect(frame, ms);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->faces.empty());
}

}  // namespace
}  // namespace facegate::face
