#pragma once

// One enrolment template from a few photos of one pupil: each photo checked on its own (one
// face, large, sharp, opaque, not an enlargement), then the photos checked against each
// other, then the mean of their embeddings. The one way facegate makes a template: the
// enrolment desk (`facegate enroll`), the demo, the benchmarks and the tests all use it.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "facegate/core/error.hpp"
#include "facegate/face/embedding.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/face/match.hpp"

namespace facegate::enrolment {

// How close the photos of one enrolment must be to each other, as embedding distances.
struct AgreementBounds {
  double maxPairDistance = 0.0;      // between any two photos
  double maxTemplateDistance = 0.0;  // between each photo and the mean of all of them
};

// The bounds for a gate that grants at `gateThreshold` (face.threshold): fixed fractions of
// a photo scale (the larger of the threshold and 0.58, the single-photo threshold they were
// measured at), the template bound never above 0.9 of the gate's threshold. The fractions and
// the measurements behind them are in template_builder.cpp. InvalidArgument outside
// (face::kMinThreshold, face::kMaxThreshold].
Result<AgreementBounds> agreementBoundsFor(double gateThreshold);

// How a set of embeddings (one per photo, in order) agrees.
struct Agreement {
  bool agrees = true;
  double largestPairDistance = 0.0;  // 0 with a single photo
  std::size_t pairFirst = 0;         // the two photos at that distance, pairFirst < pairSecond
  std::size_t pairSecond = 0;
  double largestTemplateDistance = 0.0;  // the farthest photo from the mean of all
  std::size_t farthest = 0;
  // When the photos disagree but all the others agree without this one, and it is the only
  // photo of which that is true: the photo that shows someone else. Never set for fewer
  // than three photos (with two, nobody can tell which one is wrong).
  std::optional<std::size_t> outlier;
};

// Checks every pair and every photo against the mean. No engine: pure arithmetic, used by
// the builder and by the measurements. An empty span agrees. The embeddings are borrowed
// for the call (the pointer form spares copies of secure memory when measuring many sets).
Agreement checkAgreement(std::span<const face::Embedding> embeddings,
                         const AgreementBounds& bounds);
Agreement checkAgreement(std::span<const face::Embedding* const> embeddings,
                         const AgreementBounds& bounds);

// The component-wise mean. dlib's embeddings are not unit length: averaging normalised
// vectors would change their scale and the threshold's meaning. Zero for an empty span.
face::Embedding meanEmbedding(std::span<const face::Embedding> embeddings);
face::Embedding meanEmbedding(std::span<const face::Embedding* const> embeddings);

// Why a photo cannot be part of a template.
enum class PhotoProblem {
  None,          // usable, and it agrees with the others
  Unreadable,    // missing, unreadable, not an image, too small or too large a file
  NoFace,        // no face the detector accepts, even on its upsampled pass
  SeveralFaces,  // more than one face: an enrolment photo shows the pupil alone
  Transparent,   // its alpha channel hides the face from whoever looks at the photo
  TooSmall,      // the face is narrower than minFacePx
  TooBlurry,     // sharpness below minSharpness
  Enlarged,      // enlarged from a smaller picture: its real detail is narrower than minFacePx
  Disagrees,     // does not show the same person as the other photos
};
std::string_view toString(PhotoProblem problem) noexcept;

// What the builder found about one photo, in the order the photos were added.
struct PhotoReport {
  std::string name;  // the file as given, or the caller's label
  PhotoProblem problem = PhotoProblem::None;
  std::string reason;         // one sentence naming the photo; empty when problem is None
  face::FaceQuality quality;  // set once exactly one face was found
  double hiddenShare = 0.0;   // share of the face box that is less than half opaque
  std::optional<double> templateDistance;  // to the mean of the usable photos, once built
};

// Photo checks: what the enrolment desk has always applied, plus transparency and
// enlargement. Enrolment photos are held to a higher standard than gate frames: the
// template is made once and compared against for a year.
struct TemplateSettings {
  // The face box's side, and the face's real detail (face::FaceQuality::detailSidePx).
  int minFacePx = 100;
  // face::FaceQuality::sharpness (variance of the Laplacian of the face resampled to
  // 150x150). The sharpest-looking fixture crops measure 23 and more; a Gaussian blur of
  // sigma 2.5 brings them to 3-7.
  double minSharpness = 15.0;
  // Share of the face box less than half opaque. A portrait whose background was cut away
  // keeps its face box (eyebrows to chin) opaque; hiding a tenth of the face from whoever
  // checks the photo is already too much. (The fixtures have no alpha channel.)
  double maxHiddenShare = 0.10;
  // The gate threshold the template will be compared at; the agreement bounds derive from it.
  double gateThreshold = face::kDefaultMatchThreshold;
};

// Collects photos, then builds the template. Borrows the engine for its lifetime; not
// thread-safe (neither is the engine). Holds embeddings only in face::Embedding's secure
// memory, and no pixels between calls.
class TemplateBuilder {
 public:
  // InvalidArgument when a setting is out of range (gateThreshold as agreementBoundsFor,
  // minFacePx < 1, minSharpness < 0, maxHiddenShare outside [0, 1]).
  static Result<TemplateBuilder> create(face::FaceEngine& engine, TemplateSettings settings = {});

  // A photo file, read and decoded in memory (PNG, JPEG, BMP; alpha kept), checked and
  // described; its bytes and pixels are wiped before this returns. The report says what is
  // wrong with it, if anything (a problem is not an error); the reference stays valid until
  // the next add.
  const PhotoReport& addFile(const std::filesystem::path& file);

  // A photo already in memory: 8-bit BGR and, optionally, an 8-bit alpha plane of the same
  // size (255 = opaque). Borrowed for the call only; the caller owns and wipes the pixels.
  const PhotoReport& addImage(std::string name, const cv::Mat& bgr, const cv::Mat& alpha = {});

  // The agreement checks, then the mean of the photos. Refused (ErrorCode::Refused, the
  // message a sentence naming the photo) when no photo was added, when any photo has a
  // problem (the first one's reason; every report keeps its own), or when the photos do not
  // agree (the disagreeing photos are marked Disagrees: the outlier when there is one, else
  // the farthest pair). Can be called again after more photos are added.
  Result<face::Embedding> build();

  const std::vector<PhotoReport>& photos() const noexcept { return reports_; }
  const AgreementBounds& bounds() const noexcept { return bounds_; }
  // The last build()'s agreement over the usable photos (empty before, or when a photo had
  // a problem of its own).
  const std::optional<Agreement>& agreement() const noexcept { return agreement_; }

 private:
  TemplateBuilder(face::FaceEngine& engine, const TemplateSettings& settings,
                  const AgreementBounds& bounds);
  PhotoReport& check(PhotoReport& report, const cv::Mat& bgr, const cv::Mat& alpha);

  face::FaceEngine* engine_;
  TemplateSettings settings_;
  AgreementBounds bounds_;
  std::vector<PhotoReport> reports_;
  std::vector<face::Embedding> embeddings_;  // one per report; zeros for an unusable photo
  std::optional<Agreement> agreement_;
};

}  // namespace facegate::enrolment
