#pragma once

// The gate's own protocol, measured on a photo set: a template made from a few photos of a
// person by the enrolment code, compared with passages made of other photos, each passage
// fused exactly as the gate fuses the frames of its decision window (every frame must match:
// the passage's distance is the largest of its frames'). Genuine passages are the person's
// own other photos; impostor passages are the photos of everybody else. Pure arithmetic on
// embeddings: which photos enrol is decided by the caller (the template builder's checks).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "facegate/eval/photo_set.hpp"
#include "facegate/face/embedding.hpp"

namespace facegate::eval {

// How a passage's frames become one distance.
enum class PassageFusion {
  FarthestFrame,  // the largest of the frames' distances: every frame must match (the gate)
  MeanEmbedding,  // the distance of the frames' mean embedding (measured, not the gate's rule)
};

struct GateProtocolSettings {
  int enrolPhotos = 3;       // photos behind one template (the desk takes 3 to 10)
  int framesPerPassage = 1;  // photos fused into one passage
  // At most this many genuine passages per template, and impostor passages per other person
  // and template, so that the few people with a hundred photos do not weigh a hundred times.
  int maxPassagesPerPerson = 20;
  std::uint64_t seed = 1;  // the order of each person's photos (std::mt19937_64)
  PassageFusion fusion = PassageFusion::FarthestFrame;
};

// Each person's images (indices into the set), in an order shuffled by `seed`: the first
// usable ones enrol, the others are probes.
std::vector<std::vector<std::size_t>> shuffledImagesByPerson(const PhotoSet& set,
                                                             std::uint64_t seed);

// A template and the photos that made it.
struct EnrolledPerson {
  int person = 0;
  face::Embedding templ;
  std::vector<std::size_t> enrolImages;
};

// The distance of a passage of `frames` to `templ`, fused as `fusion` says (the gate: the
// largest of the frames' distances). nullopt when a frame has no usable face (the gate
// would still be waiting for one: a failure to acquire, not a comparison).
std::optional<double> passageDistance(const face::Embedding& templ,
                                      std::span<const std::size_t> frames,
                                      const std::vector<ImageEmbedding>& embedded,
                                      PassageFusion fusion = PassageFusion::FarthestFrame);

struct GateScores {
  std::vector<double> genuine;         // one per genuine passage
  std::vector<double> impostor;        // one per impostor passage
  std::size_t genuineUnacquired = 0;   // genuine passages with a frame without a face
  std::size_t impostorUnacquired = 0;  // the same for impostor passages (not scored)
  std::size_t templates = 0;
  std::size_t impostorPersons = 0;  // people whose photos made impostor passages
};

// Scores every template against its own person's other photos (genuine) and every other
// person's photos (impostor), grouped in passages of settings.framesPerPassage in each
// person's order; the photos that enrolled are never a probe. `order` is
// shuffledImagesByPerson's.
GateScores scoreGateProtocol(const std::vector<EnrolledPerson>& enrolled,
                             const std::vector<std::vector<std::size_t>>& order,
                             const std::vector<ImageEmbedding>& embedded,
                             const GateProtocolSettings& settings);

}  // namespace facegate::eval
