#pragma once

// What the machine the benchmark runs on contributes: the BLAS library dlib's network calls
// into, and the process's memory.

#include <string>
#include <vector>

namespace facegate::bench {

// The peak resident set size of this process so far, in MB.
double peakRssMb();

// Every BLAS library mapped into this process, as the dynamic loader resolved them (through
// the alternatives symlinks): libblas.so.3 and OpenBLAS's own library can both be there.
std::vector<std::string> mappedBlas();

// The library whose cblas_sgemm dlib's network calls: the first in the global lookup order,
// which is what dlib's own references bind to. Empty when no BLAS is loaded. Only meaningful
// once the network has run (the library may be loaded lazily).
std::string blasInUse();

// Whether `path` is Debian's reference BLAS, which makes the face embedding ~15x slower than
// OpenBLAS.
bool isReferenceBlas(const std::string& path);

}  // namespace facegate::bench
