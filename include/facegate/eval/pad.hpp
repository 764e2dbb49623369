#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "facegate/core/error.hpp"
#include "facegate/core/output_file.hpp"
#include "facegate/face/engine.hpp"
#include "facegate/liveness/liveness.hpp"

// Presentation-attack detection measured the ISO/IEC 30107-3 way: presentations of bona
// fide (live) faces and of attacks, each judged by the same liveness check the gate runs;
// APCER per attack type (attacks taken for live), BPCER (live faces taken for attacks).
namespace facegate::eval {

// The frames of a video file, or of a directory of images in natural order (frame_2 before
// frame_10). At most `maxFrames` frames. InvalidArgument / NotFound with the path named.
Result<std::vector<cv::Mat>> readSequence(const std::filesystem::path& path, int maxFrames);

struct PadPresentation {
  std::string source;  // file or folder, and the frame range
  int firstFrame = 0;
  liveness::Assessment assessment;
  double msPerFrame = 0.0;  // the liveness check's own cost (grey conversion excluded)
};

// Splits `frames` into presentations of `settings.frames` frames of one face at least
// `minFacePx` wide, followed from frame to frame as the gate follows it (face/track.hpp:
// frames are taken as 1/30 s apart; a face missing for more than 4 frames, or jumping, or
// replaced, starts a new presentation), and judges each. A tail shorter than a presentation
// is dropped.
Result<std::vector<PadPresentation>> judgeSequence(face::FaceEngine& engine,
                                                   const liveness::Settings& settings,
                                                   const std::vector<cv::Mat>& frames,
                                                   int minFacePx, const std::string& source);

struct PadRate {
  std::size_t presentations = 0;
  std::size_t errors = 0;  // attacks judged live (APCER) or live judged attacks (BPCER)
  double rate() const {
    return presentations == 0 ? 0.0
                              : static_cast<double>(errors) / static_cast<double>(presentations);
  }
};
PadRate apcer(const std::vector<PadPresentation>& attacks);
PadRate bpcer(const std::vector<PadPresentation>& live);

// Which part of a set a presentation belongs to: the first half of every source is for
// tuning the thresholds, the second half is held out (reported figures come from it).
enum class SetPart { All, Tuning, HeldOut };
std::vector<PadPresentation> part(const std::vector<PadPresentation>& all, SetPart which);

// Score distributions: the border share and the planarity residual of live presentations
// against each attack type, with the thresholds drawn in. Written as a PNG (mode 0600)
// through OutputFile, as writeDetPlot (det_plot.hpp) is: never through a symbolic link,
// never into an existing file unless `overwrite` is Replace (--force).
struct PadGroup {
  std::string name;
  std::vector<PadPresentation> presentations;
};
Result<void> writePadPlot(const std::filesystem::path& file, const std::vector<PadGroup>& groups,
                          const liveness::Settings& settings,
                          Overwrite overwrite = Overwrite::Refuse);

}  // namespace facegate::eval
