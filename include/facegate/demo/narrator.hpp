#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "facegate/demo/demo.hpp"
#include "facegate/gate/gate.hpp"

namespace facegate::demo {

// Prints the demo on stdout as the gate decides it: one line per passage against what the
// scenario expected, and a verdict at the end.
class Narrator {
 public:
  explicit Narrator(const std::vector<DemoPassage>& passages) : passages_(passages) {}

  // Gate::onReport: prints "passage N: OUTCOME distance D who", marked when unexpected.
  void passage(const gate::PassageReport& report);

  // Prints "demo: K of N passages decided as expected, from F frames" (FAILED when not all
  // were); true when every scripted passage was decided as expected and no other one was.
  bool finish(std::uint64_t frames) const;

 private:
  const std::vector<DemoPassage>& passages_;
  std::size_t reported_ = 0;
  std::size_t asExpected_ = 0;
};

}  // namespace facegate::demo
