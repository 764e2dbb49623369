// Enrolment agreement measurement (not a test: it prints what the bounds do, it asserts
// nothing). The numbers behind enrolment::agreementBoundsFor.
//
//   enrolment_bench [--threshold T] [--seed N] [--sets-per-person N] [--mixed N] [DIR...]
//
// Each DIR holds one folder per person (tests/data/faces, LFW). Without DIR: the fixtures,
// and the LFW development set at ../shared/data/lfw-dev/images beside the source tree when
// it is there. Every image is embedded once with the face engine directly (largest face, no
// enrolment photo checks: many LFW faces are under 100 px), then, as the builder's
// checkAgreement judges them:
//   - same-person sets: 3 photos of one person, every set of every person with >= 3 photos
//     when there are few, else --sets-per-person sets per person drawn with the seed;
//   - mixed sets: 2 photos of A + 1 of B, and 1 + 1 + 1 of three people, all of them when
//     there are at most --mixed, else --mixed drawn with the seed; and "lookalike" sets:
//     2 photos of A + B's photo nearest to their mean (the worst case for the check);
// for a grid of bounds (fractions of the threshold), the share of same-person sets refused
// and of mixed sets accepted; then, for the bounds in force, what every accepted mixed
// template does at the gate threshold: how many of the other photos of each person in it
// it grants, against what the template of A's own photos grants.
#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "facegate/enrolment/template_builder.hpp"
#include "facegate/eval/photo_set.hpp"
#include "facegate/face/match.hpp"
#include "facegate/face/models.hpp"

namespace {

using namespace facegate;
namespace fs = std::filesystem;

struct Options {
  std::vector<double> thresholds;  // default: face::kDefaultMatchThreshold
  std::uint64_t seed = 11;
  std::size_t setsPerPerson = 50;
  std::size_t mixed = 200'000;
  std::vector<fs::path> dirs;
};

// One candidate template: indices into the usable images.
struct Set {
  std::vector<std::size_t> images;
  double pair = 0.0;    // largest pair distance
  double toMean = 0.0;  // largest photo-to-mean distance
};

struct Data {
  std::vector<face::Embedding> embeddings;  // usable images only
  std::vector<int> person;                  // per usable image
  std::vector<std::vector<std::size_t>> byPerson;
  std::vector<std::string> names;  // per person
  std::vector<std::string> files;  // per usable image
};

std::vector<const face::Embedding*> of(const Data& d, const std::vector<std::size_t>& images) {
  std::vector<const face::Embedding*> e;
  for (const auto i : images) {
    e.push_back(&d.embeddings[i]);
  }
  return e;
}

void measure(const Data& d, Set& s) {
  const auto e = of(d, s.images);
  const auto a =
      enrolment::checkAgreement(e, enrolment::AgreementBounds{1e9, 1e9});  // measure only
  s.pair = a.largestPairDistance;
  s.toMean = a.largestTemplateDistance;
}

face::Embedding meanOf(const Data& d, const std::vector<std::size_t>& images) {
  return enrolment::meanEmbedding(of(d, images));
}

double choose3(double n) {
  return n * (n - 1) * (n - 2) / 6.0;
}

std::vector<Set> samePersonSets(const Data& d, const Options& o, std::mt19937_64& random,
                                std::size_t& persons) {
  std::vector<Set> sets;
  persons = 0;
  for (const auto& images : d.byPerson) {
    const std::size_t n = images.size();
    if (n < 3) {
      continue;
    }
    ++persons;
    if (choose3(static_cast<double>(n)) <= static_cast<double>(o.setsPerPerson)) {
      for (std::size_t a = 0; a < n; ++a) {
        for (std::size_t b = a + 1; b < n; ++b) {
          for (std::size_t c = b + 1; c < n; ++c) {
            sets.push_back({{images[a], images[b], images[c]}});
          }
        }
      }
      continue;
    }
    std::set<std::vector<std::size_t>> taken;
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    while (taken.size() < o.setsPerPerson) {
      std::vector<std::size_t> t{pick(random), pick(random), pick(random)};
      std::sort(t.begin(), t.end());
      if (t[0] == t[1] || t[1] == t[2]) {
        continue;
      }
      if (taken.insert(t).second) {
        sets.push_back({{images[t[0]], images[t[1]], images[t[2]]}});
      }
    }
  }
  return sets;
}

// 2 photos of A + 1 of B (B != A): all when there are at most o.mixed, else a sample.
std::vector<Set> twoPlusOneSets(const Data& d, const Options& o, std::mt19937_64& random) {
  std::vector<std::size_t> pairsPeople;
  double all = 0.0;
  const double images = static_cast<double>(d.embeddings.size());
  for (std::size_t p = 0; p < d.byPerson.size(); ++p) {
    const double n = static_cast<double>(d.byPerson[p].size());
    if (n >= 2) {
      pairsPeople.push_back(p);
      all += n * (n - 1) / 2 * (images - n);
    }
  }
  std::vector<Set> sets;
  if (all <= static_cast<double>(o.mixed)) {
    for (const auto p : pairsPeople) {
      const auto& a = d.byPerson[p];
      for (std::size_t i = 0; i < a.size(); ++i) {
        for (std::size_t j = i + 1; j < a.size(); ++j) {
          for (std::size_t b = 0; b < d.embeddings.size(); ++b) {
            if (d.person[b] != static_cast<int>(p)) {
              sets.push_back({{a[i], a[j], b}});
            }
          }
        }
      }
    }
    return sets;
  }
  std::uniform_int_distribution<std::size_t> pickPerson(0, pairsPeople.size() - 1);
  std::uniform_int_distribution<std::size_t> pickImage(0, d.embeddings.size() - 1);
  while (sets.size() < o.mixed) {
    const auto& a = d.byPerson[pairsPeople[pickPerson(random)]];
    std::uniform_int_distribution<std::size_t> inA(0, a.size() - 1);
    const std::size_t i = a[inA(random)];
    const std::size_t j = a[inA(random)];
    const std::size_t b = pickImage(random);
    if (i != j && d.person[b] != d.person[i]) {
      sets.push_back({{std::min(i, j), std::max(i, j), b}});
    }
  }
  return sets;
}

// One photo each of three different people.
std::vector<Set> onePlusOnePlusOneSets(const Data& d, const Options& o, std::mt19937_64& random) {
  const std::size_t n = d.embeddings.size();
  std::vector<Set> sets;
  if (choose3(static_cast<double>(n)) <= static_cast<double>(o.mixed) * 2) {
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t b = a + 1; b < n; ++b) {
        for (std::size_t c = b + 1; c < n; ++c) {
          if (d.person[a] != d.person[b] && d.person[b] != d.person[c] &&
              d.person[a] != d.person[c]) {
            sets.push_back({{a, b, c}});
          }
        }
      }
    }
    if (sets.size() <= o.mixed) {
      return sets;
    }
    sets.clear();
  }
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  while (sets.size() < o.mixed) {
    const std::size_t a = pick(random);
    const std::size_t b = pick(random);
    const std::size_t c = pick(random);
    if (d.person[a] != d.person[b] && d.person[b] != d.person[c] && d.person[a] != d.person[c]) {
      sets.push_back({{a, b, c}});
    }
  }
  return sets;
}

// 2 photos of A and the photo of someone else nearest to their mean: the lookalike case.
std::vector<Set> lookalikeSets(const Data& d, const std::vector<Set>& twoPlusOne,
                               std::size_t limit) {
  std::set<std::pair<std::size_t, std::size_t>> seen;
  std::vector<Set> sets;
  for (const auto& s : twoPlusOne) {
    if (sets.size() >= limit) {
      break;
    }
    if (!seen.insert({s.images[0], s.images[1]}).second) {
      continue;
    }
    const auto mean = meanOf(d, {s.images[0], s.images[1]});
    double best = 1e9;
    std::size_t nearest = 0;
    for (std::size_t b = 0; b < d.embeddings.size(); ++b) {
      if (d.person[b] == d.person[s.images[0]]) {
        continue;
      }
      const double dist = face::distance(d.embeddings[b], mean);
      if (dist < best) {
        best = dist;
        nearest = b;
      }
    }
    sets.push_back({{s.images[0], s.images[1], nearest}});
  }
  return sets;
}

std::string percent(std::size_t part, std::size_t whole) {
  return whole == 0 ? std::string("-")
                    : fmt::format("{:.2f} %",
                                  100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

bool agrees(const Set& s, const enrolment::AgreementBounds& b) {
  return s.pair <= b.maxPairDistance && s.toMean <= b.maxTemplateDistance;
}

std::size_t countAgreeing(const std::vector<Set>& sets, const enrolment::AgreementBounds& b) {
  return static_cast<std::size_t>(
      std::count_if(sets.begin(), sets.end(), [&](const Set& s) { return agrees(s, b); }));
}

// What the templates of accepted mixed sets grant at the gate: every other photo of each
// person in the set, as a probe.
void gateEffect(const Data& d, const std::vector<Set>& sets, const enrolment::AgreementBounds& b,
                double threshold, const char* label, bool listThem) {
  std::size_t accepted = 0;
  std::map<bool, std::pair<std::size_t, std::size_t>> probes;  // first person?: granted, total
  std::size_t othersGranted = 0;
  std::size_t othersTotal = 0;
  std::size_t cleanGranted = 0;  // the same probes of the others, against A's own photos
  for (const auto& s : sets) {
    if (!agrees(s, b)) {
      continue;
    }
    ++accepted;
    const auto templ = meanOf(d, s.images);
    const int a = d.person[s.images[0]];
    const bool twoOfA = d.person[s.images[1]] == a;
    const auto clean = twoOfA ? meanOf(d, {s.images[0], s.images[1]}) : meanOf(d, {s.images[0]});
    std::set<int> people;
    for (const auto i : s.images) {
      people.insert(d.person[i]);
    }
    for (const int p : people) {
      for (const auto probe : d.byPerson[static_cast<std::size_t>(p)]) {
        if (std::find(s.images.begin(), s.images.end(), probe) != s.images.end()) {
          continue;
        }
        const bool granted = face::distance(d.embeddings[probe], templ) <= threshold;
        if (p == a) {
          probes[true].second++;
          probes[true].first += granted ? 1 : 0;
        } else {
          ++othersTotal;
          othersGranted += granted ? 1 : 0;
          cleanGranted += face::distance(d.embeddings[probe], clean) <= threshold ? 1 : 0;
        }
      }
    }
    if (listThem) {
      std::string names;
      for (const auto i : s.images) {
        names += fmt::format(" {}", fs::path(d.files[i]).filename().string());
      }
      fmt::print("    accepted {}:{} (pair {:.3f}, to mean {:.3f})\n", label, names, s.pair,
                 s.toMean);
    }
  }
  fmt::print(
      "  {}: {} accepted; their templates grant at {:.2f}: {} of {} other photos of A, {} of {} "
      "other photos of the others (A's own photos alone: {} of those {})\n",
      label, accepted, threshold, probes[true].first, probes[true].second, othersGranted,
      othersTotal, cleanGranted, othersTotal);
}

int report(const Data& d, const std::vector<Set>& same, const std::vector<Set>& twoOne,
           const std::vector<Set>& three, const std::vector<Set>& look, double threshold);

int run(const fs::path& dir, const Options& o, const fs::path& modelDir) {
  auto photos = eval::scanPhotoSet(dir);
  if (!photos) {
    fmt::print(stderr, "enrolment_bench: {}\n", photos.error().message);
    return 2;
  }
  std::vector<fs::path> files;
  for (const auto& image : photos->images) {
    files.push_back(image.file);
  }
  eval::EmbedOptions embed;
  embed.onProgress = [](const eval::EmbedProgress& p) {
    fmt::print(stderr, "  embedded {} of {} ({:.0f} s)\n", p.done, p.total, p.elapsedSeconds);
  };
  auto embeddings = eval::embedImages(files, modelDir, embed);
  if (!embeddings) {
    fmt::print(stderr, "enrolment_bench: {}\n", embeddings.error().message);
    return 2;
  }
  Data d;
  d.names = photos->persons;
  d.byPerson.resize(d.names.size());
  std::size_t without = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto& e = (*embeddings)[i];
    if (!e.embedding) {
      ++without;
      continue;
    }
    d.byPerson[static_cast<std::size_t>(photos->images[i].person)].push_back(d.embeddings.size());
    d.person.push_back(photos->images[i].person);
    d.files.push_back(files[i].string());
    d.embeddings.push_back(std::move(*e.embedding));
  }
  fmt::print("{}: {} images of {} people, {} without a usable face\n", dir.string(), files.size(),
             d.names.size(), without);

  std::mt19937_64 random(o.seed);
  std::size_t persons = 0;
  auto same = samePersonSets(d, o, random, persons);
  auto twoOne = twoPlusOneSets(d, o, random);
  auto three = onePlusOnePlusOneSets(d, o, random);
  auto look = lookalikeSets(d, twoOne, 5000);
  for (auto* sets : {&same, &twoOne, &three, &look}) {
    for (auto& s : *sets) {
      measure(d, s);
    }
  }
  fmt::print(
      "sets: {} same-person (3 photos, {} people with >= 3), {} of 2 of A + 1 of B, {} of 1 + 1 "
      "+ 1, {} lookalike (2 of A + the nearest photo of someone else); seed {}\n",
      same.size(), persons, twoOne.size(), three.size(), look.size(), o.seed);

  int rc = 0;
  for (const double threshold : o.thresholds) {
    rc = std::max(rc, report(d, same, twoOne, three, look, threshold));
  }
  return rc;
}

int report(const Data& d, const std::vector<Set>& same, const std::vector<Set>& twoOne,
           const std::vector<Set>& three, const std::vector<Set>& look, double threshold) {
  const std::vector<double> pairFractions = {0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 1.00};
  const std::vector<double> templateFractions = {0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 10.0};
  fmt::print("threshold {:.2f}; bounds as fractions of it (pair / to mean, 'any' = no bound):\n",
             threshold);
  fmt::print("  {:>6} {:>7} {:>7} {:>7}  {:>10} {:>10} {:>10} {:>10}\n", "pair", "toMean", "pair",
             "toMean", "same refused", "2+1 acc.", "1+1+1 acc.", "lookalike acc.");
  for (const double pf : pairFractions) {
    for (const double tf : templateFractions) {
      const enrolment::AgreementBounds b{pf * threshold, tf * threshold};
      fmt::print("  {:>6.2f} {:>7} {:>7.3f} {:>7}  {:>12} {:>10} {:>10} {:>14}\n", pf,
                 tf > 5 ? std::string("any") : fmt::format("{:.2f}", tf), b.maxPairDistance,
                 tf > 5 ? std::string("-") : fmt::format("{:.3f}", b.maxTemplateDistance),
                 percent(same.size() - countAgreeing(same, b), same.size()),
                 percent(countAgreeing(twoOne, b), twoOne.size()),
                 percent(countAgreeing(three, b), three.size()),
                 percent(countAgreeing(look, b), look.size()));
    }
  }

  auto inForce = enrolment::agreementBoundsFor(threshold);
  if (!inForce) {
    fmt::print(stderr, "enrolment_bench: {}\n", inForce.error().message);
    return 2;
  }
  const auto& b = *inForce;
  const std::size_t sameRefused = same.size() - countAgreeing(same, b);
  fmt::print(
      "bounds in force at threshold {:.2f}: pair <= {:.3f}, photo to mean <= {:.3f}\n"
      "  same-person sets refused: {} of {} ({})\n"
      "  2+1 accepted: {} of {} ({}); 1+1+1 accepted: {} of {} ({}); lookalike accepted: {} of "
      "{} ({})\n",
      threshold, b.maxPairDistance, b.maxTemplateDistance, sameRefused, same.size(),
      percent(sameRefused, same.size()), countAgreeing(twoOne, b), twoOne.size(),
      percent(countAgreeing(twoOne, b), twoOne.size()), countAgreeing(three, b), three.size(),
      percent(countAgreeing(three, b), three.size()), countAgreeing(look, b), look.size(),
      percent(countAgreeing(look, b), look.size()));
  // Without the check every mixed set is a template: what those grant, for comparison.
  const enrolment::AgreementBounds none{1e9, 1e9};
  const bool small = d.embeddings.size() < 200;
  gateEffect(d, twoOne, b, threshold, "2+1", small);
  gateEffect(d, three, b, threshold, "1+1+1", small);
  gateEffect(d, look, b, threshold, "lookalike", small);
  fmt::print("  without the agreement check (every set accepted):\n");
  gateEffect(d, twoOne, none, threshold, "2+1", false);
  gateEffect(d, three, none, threshold, "1+1+1", false);
  gateEffect(d, look, none, threshold, "lookalike", false);
  if (small) {
    for (const auto& s : same) {
      if (!agrees(s, b)) {
        fmt::print("    refused same-person: {} {} {} (pair {:.3f}, to mean {:.3f})\n",
                   fs::path(d.files[s.images[0]]).filename().string(),
                   fs::path(d.files[s.images[1]]).filename().string(),
                   fs::path(d.files[s.images[2]]).filename().string(), s.pair, s.toMean);
      }
    }
  }
  fmt::print("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool hasValue = i + 1 < argc;
    if (arg == "--threshold" && hasValue) {
      o.thresholds.push_back(std::atof(argv[++i]));
    } else if (arg == "--seed" && hasValue) {
      o.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--sets-per-person" && hasValue) {
      o.setsPerPerson = std::max<std::size_t>(1, std::strtoull(argv[++i], nullptr, 10));
    } else if (arg == "--mixed" && hasValue) {
      o.mixed = std::max<std::size_t>(1, std::strtoull(argv[++i], nullptr, 10));
    } else if (arg.starts_with("--")) {
      fmt::print(stderr,
                 "usage: enrolment_bench [--threshold T] [--seed N] [--sets-per-person N] "
                 "[--mixed N] [DIR...]\n");
      return 2;
    } else {
      o.dirs.emplace_back(arg);
    }
  }
  if (o.thresholds.empty()) {
    o.thresholds.push_back(face::kDefaultMatchThreshold);
  }
  if (o.dirs.empty()) {
    o.dirs.emplace_back(FACEGATE_TEST_DATA_DIR "/faces");
    const fs::path lfw = FACEGATE_SOURCE_DIR "/../shared/data/lfw-dev/images";
    std::error_code ec;
    if (fs::is_directory(lfw, ec)) {
      o.dirs.push_back(lfw.lexically_normal());
    } else {
      fmt::print(stderr, "enrolment_bench: {} is absent: fixtures only\n", lfw.string());
    }
  }
  auto modelDir = face::findModelDir(std::nullopt);
  if (!modelDir) {
    fmt::print(stderr, "enrolment_bench: {}\n", modelDir.error().message);
    return 2;
  }
  int rc = 0;
  for (const auto& dir : o.dirs) {
    rc = std::max(rc, run(dir, o, *modelDir));
  }
  return rc;
}
