#pragma once

// The face pipeline's benchmark behind `facegate bench`: latency per stage, memory and
// throughput on this machine, on frames composed like a gate camera sees them (a corridor,
// the pupil a step away, the badge held low in a corner), with the stock dlib recipe
// measured side by side in the same run.

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "facegate/bench/latency.hpp"
#include "facegate/core/error.hpp"

namespace facegate::bench {

// The photo put in front of the camera and the one standing for the enrolled template,
// relative to the demo's photo folder.
inline constexpr std::string_view kProbePhoto = "penny/penny_5.png";
inline constexpr std::string_view kTemplatePhoto = "penny/penny_1.png";

struct FrameSpec {
  int width;
  int height;
  int facePx;    // side of the face box in the composed frame
  int qrModule;  // pixels per QR module
};

// The frames measured: a gate camera's two usual sizes.
inline constexpr std::array<FrameSpec, 2> kFrames = {{
    {640, 480, 200, 3},
    {1280, 720, 300, 4},
}};

// One face path (the stock dlib recipe, or facegate's), in milliseconds.
struct PathResult {
  Summary detect;
  Summary align;
  Summary embed;
  Summary total;     // the describe call, wall clock
  Summary decision;  // decode + QR scan + describe + match
};

struct FrameResult {
  FrameSpec spec{};
  std::size_t jpegBytes = 0;
  int qrPx = 0;         // side of the QR code in the frame
  bool qrRead = false;  // false: the composed frame is not what a gate would read
  int facesFound = 0;
  double distance = 0.0;  // probe to template, facegate's path
  Summary decode;
  Summary scan;
  Summary matchUs;  // microseconds
  PathResult stock;
  PathResult facegate;
};

// Verifications per second of one engine per thread, each running describeLargest + distance
// on the 640x480 frame for a few seconds.
struct Throughput {
  std::vector<long> perThread;
  double seconds = 0.0;
  double perSecond = 0.0;
};

struct FaceBenchSettings {
  int iterations = 30;             // timed runs of each stage, at least 1
  int warmup = 3;                  // untimed runs before them, at least 0
  std::filesystem::path modelDir;  // the dlib models (face::findModelDir)
  std::filesystem::path faceDir;   // the demo's photos, one folder per person
};

struct FaceBenchReport {
  int iterations = 0;
  int warmup = 0;
  std::filesystem::path modelDir;
  std::filesystem::path faceDir;
  std::string blas;  // blasInUse(), else the first library mapped; empty: none
  std::vector<std::string> blasMapped;
  std::vector<FrameResult> frames;  // one per kFrames entry, in that order
  double peakRssOneEngineMb = 0.0;
  double peakRssMb = 0.0;  // after the throughput run, one engine per thread
  Throughput throughput;
};

// Loads the models, makes the template from kTemplatePhoto, measures every frame of kFrames
// and the throughput. Takes a few seconds plus iterations x ~1 s on the gate's board.
// Errors: the models, the photos (missing, unreadable, no face found) or a frame without a
// face, each with a message naming the file.
Result<FaceBenchReport> runFaceBench(const FaceBenchSettings& settings);

}  // namespace facegate::bench
