#include "facegate/eval/gate_protocol.hpp"

#include <algorithm>
#include <random>
#include <unordered_set>
#include <utility>

namespace facegate::eval {

std::vector<std::vector<std::size_t>> shuffledImagesByPerson(const PhotoSet& set,
                                                             std::uint64_t seed) {
  std::vector<std::vector<std::size_t>> order(set.persons.size());
  for (std::size_t i = 0; i < set.images.size(); ++i) {
    order[static_cast<std::size_t>(set.images[i].person)].push_back(i);
  }
  std::mt19937_64 random(seed);
  for (auto& images : order) {
    std::shuffle(images.begin(), images.end(), random);
  }
  return order;
}

std::optional<double> passageDistance(const face::Embedding& templ,
                                      std::span<const std::size_t> frames,
                                      const std::vector<ImageEmbedding>& embedded,
                                      PassageFusion fusion) {
  for (const std::size_t frame : frames) {
    if (!embedded[frame].embedding) {
      return std::nullopt;
    }
  }
  if (fusion == PassageFusion::FarthestFrame) {
    double largest = 0.0;
    for (const std::size_t frame : frames) {
      largest = std::max(largest, face::distance(templ, *embedded[frame].embedding));
    }
    return largest;
  }
  face::Embedding mean;  // secure memory (a page-guarded allocation), wiped when it goes
  for (const std::size_t frame : frames) {
    for (std::size_t i = 0; i < face::kEmbeddingSize; ++i) {
      mean.values()[i] +=
          embedded[frame].embedding->values()[i] / static_cast<float>(frames.size());
    }
  }
  return face::distance(templ, mean);
}

namespace {

// `images` cut into passages of `frames` photos (a remainder too short is left out), at most
// `most` of them.
std::vector<std::span<const std::size_t>> passagesOf(const std::vector<std::size_t>& images,
                                                     int frames, int most) {
  std::vector<std::span<const std::size_t>> out;
  const auto k = static_cast<std::size_t>(frames);
  for (std::size_t at = 0; at + k <= images.size() && std::cmp_less(out.size(), most); at += k) {
    out.emplace_back(images.data() + at, k);
  }
  return out;
}

}  // namespace

GateScores scoreGateProtocol(const std::vector<EnrolledPerson>& enrolled,
                             const std::vector<std::vector<std::size_t>>& order,
                             const std::vector<ImageEmbedding>& embedded,
                             const GateProtocolSettings& settings) {
  GateScores scores;
  scores.templates = enrolled.size();
  // Each person's probe photos: everything but the photos that made their template.
  std::vector<std::vector<std::size_t>> probes(order.size());
  std::unordered_set<std::size_t> used;
  for (const auto& person : enrolled) {
    used.insert(person.enrolImages.begin(), person.enrolImages.end());
  }
  for (std::size_t p = 0; p < order.size(); ++p) {
    for (const std::size_t image : order[p]) {
      if (!used.contains(image)) {
        probes[p].push_back(image);
      }
    }
  }
  std::vector<std::vector<std::span<const std::size_t>>> passages(order.size());
  for (std::size_t p = 0; p < order.size(); ++p) {
    passages[p] = passagesOf(probes[p], settings.framesPerPassage, settings.maxPassagesPerPerson);
    if (!passages[p].empty()) {
      ++scores.impostorPersons;
    }
  }
  for (const auto& person : enrolled) {
    const auto self = static_cast<std::size_t>(person.person);
    for (std::size_t p = 0; p < passages.size(); ++p) {
      for (const auto& passage : passages[p]) {
        const auto d = passageDistance(person.templ, passage, embedded, settings.fusion);
        const bool genuine = p == self;
        if (!d) {
          ++(genuine ? scores.genuineUnacquired : scores.impostorUnacquired);
        } else {
          (genuine ? scores.genuine : scores.impostor).push_back(*d);
        }
      }
    }
  }
  return scores;
}

}  // namespace facegate::eval
