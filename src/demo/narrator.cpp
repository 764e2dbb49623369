#include "facegate/demo/narrator.hpp"

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace facegate::demo {

void Narrator::passage(const gate::PassageReport& r) {
  const bool known = reported_ < passages_.size();
  const bool ok = known && passages_[reported_].expected == r.decision.outcome;
  asExpected_ += ok ? 1 : 0;
  fmt::print(
      "passage {}: {:<14}{:<18} {}{}\n", reported_ + 1, gate::toString(r.decision.outcome),
      r.decision.distance ? fmt::format(" distance {:.3f}", *r.decision.distance) : std::string(),
      known ? passages_[reported_].who : std::string("(unscripted)"),
      ok ? ""
         : fmt::format("  <-- expected {}",
                       known ? gate::toString(passages_[reported_].expected) : "nothing"));
  (void)std::fflush(stdout);
  ++reported_;
}

bool Narrator::finish(std::uint64_t frames) const {
  const std::size_t expected = passages_.size();
  const bool allAsExpected = reported_ == expected && asExpected_ == expected;
  fmt::print("demo: {} of {} passages decided as expected, from {} frames{}\n", asExpected_,
             expected, frames, allAsExpected ? "" : " -- FAILED");
  return allAsExpected;
}

}  // namespace facegate::demo
