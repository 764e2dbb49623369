#pragma once

namespace facegate::liveness {

// The liveness check's thresholds (liveness.hpp has what each cue means).
struct Settings {
  int frames = 8;  // frames with a usable face looked at per presentation
  // Device/print edge: straight edges enclosing the face on at least `borderSides` of its
  // four sides (a phone bezel, a tablet, the edge of a printed sheet) in at least
  // `borderFrameShare` of the frames.
  int borderSides = 2;
  double borderFrameShare = 0.5;
  // Planar motion: a photo or a screen moves as one plane, so the points tracked inside the
  // face fit one homography; a real head's do not (parallax between nose, cheeks and ears).
  // The cue abstains when the face barely moves (a still pupil, a still photo).
  double planarMinMotionPx = 3.0;   // median tracked-point motion over the window
  double planarMaxResidual = 0.05;  // median homography residual / median motion
  bool operator==(const Settings&) const = default;
};

}  // namespace facegate::liveness
