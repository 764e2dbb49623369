#include "facegate/demo/demo.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "facegate/badge/payload.hpp"
#include "facegate/badge/qr.hpp"
#include "facegate/enrolment/registry.hpp"
#include "facegate/enrolment/template_builder.hpp"
#include "facegate/face/image_file.hpp"
#include "facegate/liveness/synthetic.hpp"

namespace facegate::demo {
namespace fs = std::filesystem;

// --- DemoWorld ----------------------------------------------------------------------

namespace {

constexpr std::int64_t kValidDays = 365;
const cv::Size kFrameSize(640, 480);

Result<fs::path> makePrivateTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      fmt::format("{}/facegate-demo-XXXXXX", base != nullptr && *base ? base : "/tmp");
  if (mkdtemp(pattern.data()) == nullptr) {
    return fail(ErrorCode::StorageFailure,
                fmt::format("cannot create a directory from {}", pattern));
  }
  return fs::path(pattern);
}

// A plain background a little like a school corridor wall.
cv::Mat background() {
  cv::Mat frame(kFrameSize, CV_8UC3);
  for (int y = 0; y < frame.rows; ++y) {
    const auto shade = static_cast<unsigned char>(150 + 40 * y / frame.rows);
    frame.row(y).setTo(cv::Scalar(shade - 10, shade, shade + 5));
  }
  return frame;
}

// Puts a face photo in the middle of the frame at about gate distance (face ~200 px),
// blended in through a soft oval: a pupil standing at the gate has no rectangular edge
// around the head. (Pasted as a hard-edged rectangle it would look like a photo held up to
// the camera, and the liveness check would rightly flag it; the demo's attack passage does
// exactly that, with a printed photo.)
void placeFace(cv::Mat& frame, const cv::Mat& photo) {
  const double scale = 260.0 / std::max(photo.cols, photo.rows);
  cv::Mat resized;
  cv::resize(photo, resized, cv::Size(), scale, scale, cv::INTER_CUBIC);
  const cv::Rect where((frame.cols - resized.cols) / 2 + 80, (frame.rows - resized.rows) / 2,
                       resized.cols, resized.rows);
  cv::Mat mask = cv::Mat::zeros(resized.size(), CV_32FC1);
  cv::ellipse(mask, cv::Point(resized.cols / 2, resized.rows / 2),
              cv::Size(resized.cols * 40 / 100, resized.rows * 45 / 100), 0, 0, 360,
              cv::Scalar(1.0), cv::FILLED);
  cv::GaussianBlur(mask, mask, cv::Size(0, 0), 12.0);
  cv::Mat region = frame(where);
  for (int y = 0; y < region.rows; ++y) {
    auto* out = region.ptr<cv::Vec3b>(y);
    const auto* in = resized.ptr<cv::Vec3b>(y);
    const auto* alpha = mask.ptr<float>(y);
    for (int x = 0; x < region.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        out[x][c] =
            cv::saturate_cast<unsigned char>(alpha[x] * static_cast<float>(in[x][c]) +
                                             (1.0F - alpha[x]) * static_cast<float>(out[x][c]));
      }
    }
  }
}

// Holds the badge's QR code up to the camera, lower left.
void placeBadge(cv::Mat& frame, const std::string& payload) {
  auto qr = badge::renderQr(payload, 1, 4);
  if (!qr) {
    return;
  }
  const int module = std::max(2, 230 / qr->cols);
  cv::Mat big;
  cv::resize(*qr, big, cv::Size(qr->cols * module, qr->rows * module), 0, 0, cv::INTER_NEAREST);
  cv::Mat bgr;
  cv::cvtColor(big, bgr, cv::COLOR_GRAY2BGR);
  const cv::Rect where(10, frame.rows - bgr.rows - 10, bgr.cols, bgr.rows);
  bgr.copyTo(frame(where));
}

// A volunteer's template made as the enrolment desk makes it (every photo checked, then the
// photos against each other) from every fixture photo of theirs that the scenario does not
// show elsewhere: the desk takes 3 to 10, and more photos make a template closer to the
// pupil's face at the gate. Penny's fourth and fifth are the print and the face shown at the
// gate, bernadette's fifth is hers. Leonard's photos are the fixtures' widest spread (0.30 to
// 0.58 apart): his fifth disagrees with his second at the desk, and a template of his first
// three refuses his fourth, composited into the gate's scene, at the calibrated threshold
// (0.505 > 0.44: a false non-match, README "Known limits"); he enrols with his first, second
// and fourth and shows his third.
Result<face::Embedding> volunteerTemplate(face::FaceEngine& engine, const fs::path& faces,
                                          const std::string& person) {
  auto builder = enrolment::TemplateBuilder::create(engine);
  if (!builder) {
    return tl::unexpected(builder.error());
  }
  const std::map<std::string, std::vector<int>> shownElsewhere{
      {"penny", {4, 5}}, {"leonard", {3, 5}}, {"bernadette", {5}}};
  const auto shown = shownElsewhere.find(person);
  for (int i = 1; i <= 5; ++i) {
    if (shown != shownElsewhere.end() &&
        std::find(shown->second.begin(), shown->second.end(), i) != shown->second.end()) {
      continue;
    }
    builder->addFile(faces / person / fmt::format("{}_{}.png", person, i));
  }
  return builder->build();
}

}  // namespace

DemoWorld::~DemoWorld() {
  database_.reset();
  std::error_code ec;
  if (!dir_.empty()) {
    fs::remove_all(dir_, ec);
  }
}

Result<std::unique_ptr<DemoWorld>> DemoWorld::create(face::FaceEngine& engine,
                                                     const fs::path& faces) {
  std::unique_ptr<DemoWorld> world(new DemoWorld());
  auto dir = makePrivateTempDir();
  if (!dir) {
    return tl::unexpected(dir.error());
  }
  world->dir_ = *dir;
  auto db = store::Database::open(world->dir_ / "demo.db");
  if (!db) {
    return tl::unexpected(db.error());
  }
  world->database_.emplace(std::move(*db));
  const auto school = badge::SigningKey::generate();
  const auto otherSchool = badge::SigningKey::generate();
  world->publicKey_ = school.publicKey();
  world->templateKey_.emplace(badge::TemplateKey::generate());

  enrolment::Registry registry(*world->database_, "desk:demo");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const auto enrol = [&](const std::string& person, badge::BadgeKind mode,
                         bool replace) -> Result<std::string> {
    auto templ = volunteerTemplate(engine, faces, person);
    if (!templ) {
      return tl::unexpected(templ.error());
    }
    enrolment::EnrolmentRequest request;
    request.pupilId = person + "-2026";
    request.consentRef = "FORM-" + person;
    request.guardianConsentRef = "GUARDIAN-" + person;
    request.mode = mode;
    request.replace = replace;
    request.now = now;
    request.validDays = kValidDays;
    auto issued = registry.enrol(request, *templ, &*world->templateKey_);
    if (!issued) {
      return tl::unexpected(issued.error());
    }
    return badge::encodeBadge(*issued, school);
  };

  auto penny = enrol("penny", badge::BadgeKind::Sealed, false);
  auto leonard = enrol("leonard", badge::BadgeKind::OnBadge, false);
  auto sheldon = enrol("sheldon", badge::BadgeKind::Sealed, false);
  auto bernadetteOld = enrol("bernadette", badge::BadgeKind::Sealed, false);
  auto bernadette = enrol("bernadette", badge::BadgeKind::Sealed, true);  // lost her badge
  for (const auto* r : {&penny, &leonard, &sheldon, &bernadetteOld, &bernadette}) {
    if (!*r) {
      return tl::unexpected(r->error());
    }
  }
  auto rajBadge = registry.issuePlainBadge("raj-2026", true, now, kValidDays);
  if (!rajBadge) {
    return tl::unexpected(rajBadge.error());
  }
  auto raj = badge::encodeBadge(*rajBadge, school);
  // A badge made with another school's key, for a pupil of this school.
  badge::Badge forgedBadge;
  forgedBadge.kind = badge::BadgeKind::Plain;
  forgedBadge.serial = badge::newBadgeSerial();
  forgedBadge.pupilId = "amy-2026";
  forgedBadge.issuedAt = now;
  forgedBadge.expiresAt = now + kValidDays * 86'400;
  auto forged = badge::encodeBadge(forgedBadge, otherSchool);
  if (!raj || !forged) {
    return tl::unexpected(!raj ? raj.error() : forged.error());
  }

  const auto photo = [&](const std::string& person, int n) -> Result<cv::Mat> {
    return face::loadImage(faces / person / fmt::format("{}_{}.png", person, n));
  };
  std::vector<camera::ScenarioSource::Step> steps;
  const auto idle = [&](int frames) {
    for (int i = 0; i < frames; ++i) {
      steps.push_back({background(), "nobody"});
    }
  };
  // One passage: the badge held up with the face already in view, then the face alone.
  const auto passage = [&](const std::string& payload, const cv::Mat* face,
                           const std::string& caption) {
    cv::Mat withBadge = background();
    if (face != nullptr) {
      placeFace(withBadge, *face);
    }
    placeBadge(withBadge, payload);
    cv::Mat faceOnly = background();
    if (face != nullptr) {
      placeFace(faceOnly, *face);
    }
    for (int i = 0; i < 3; ++i) {
      steps.push_back({withBadge, caption});
    }
    for (int i = 0; i < 8; ++i) {
      steps.push_back({faceOnly, caption});
    }
  };
  auto pennyFace = photo("penny", 5);
  auto howardFace = photo("howard", 2);
  auto rajFace = photo("raj", 4);
  auto amyFace = photo("amy", 3);
  auto bernadetteFace = photo("bernadette", 5);
  auto leonardFace = photo("leonard", 3);
  auto pennyPrint = photo("penny", 4);
  for (const auto* p :
       {&pennyFace, &howardFace, &rajFace, &amyFace, &bernadetteFace, &leonardFace, &pennyPrint}) {
    if (!*p) {
      return tl::unexpected(p->error());
    }
  }

  auto& passages = world->passages_;
  idle(10);
  passage(*penny, &*pennyFace, "penny (volunteer, sealed template) shows her badge");
  passages.push_back(
      {"penny, a volunteer (sealed template), shows her badge", gate::Outcome::Granted});
  idle(25);
  passage(*raj, &*rajFace, "raj (did not volunteer)");
  passages.push_back(
      {"raj did not volunteer: paper pass, no face processing", gate::Outcome::ManualCheck});
  idle(25);
  passage(*sheldon, &*howardFace, "howard holds sheldon's badge");
  passages.push_back({"howard holds sheldon's badge", gate::Outcome::Mismatch});
  idle(25);
  // A presentation attack: penny's borrowed badge and a printed photo of penny, held up to
  // the camera (it tilts and sways as one sheet of paper).
  {
    auto print =
        liveness::synthesizeAttack(*pennyPrint, liveness::AttackKind::Print, 2026, 11, kFrameSize);
    for (std::size_t i = 0; i < print.size(); ++i) {
      if (i < 3) {
        placeBadge(print[i], *penny);
      }
      steps.push_back({print[i], "a printed photo of penny with penny's borrowed badge"});
    }
    passages.push_back({"someone holds up a printed photo of penny with her borrowed badge",
                        gate::Outcome::Spoof});
  }
  idle(25);
  passage(*forged, &*amyFace, "a badge signed by another school's key");
  passages.push_back(
      {"amy shows a badge signed by another school's key", gate::Outcome::RejectBadge});
  idle(25);
  passage(*bernadetteOld, &*bernadetteFace, "bernadette's old, revoked badge");
  passages.push_back({"bernadette shows her old badge, revoked when she was re-enrolled",
                      gate::Outcome::RejectBadge});
  idle(25);
  passage(*bernadette, nullptr, "bernadette's new badge, nobody in front of the camera");
  idle(50);  // the verification window runs out
  passages.push_back(
      {"bernadette's new badge is shown but nobody looks at the camera", gate::Outcome::Timeout});
  idle(20);
  steps.push_back({cv::Mat(), "camera outage"});
  passages.push_back({"the camera stops delivering frames", gate::Outcome::OutOfService});
  idle(15);
  passage(*leonard, &*leonardFace, "leonard (volunteer, template in the badge)");
  passages.push_back(
      {"leonard, a volunteer (template carried in his badge), after the camera "
       "came back",
       gate::Outcome::Granted});
  idle(25);

  world->source_ = std::make_unique<camera::ScenarioSource>(std::move(steps), kFps);
  return world;
}

}  // namespace facegate::demo
