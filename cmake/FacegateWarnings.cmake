# Strict warnings for facegate's own targets (never for third-party headers, which come in
# as SYSTEM includes). facegate_apply_warnings(<target>) is called by every module.
add_library(facegate_warnings INTERFACE)
target_compile_options(facegate_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic -Wconversion -Wno-sign-conversion
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough
  # Designated initializers name what they set; the rest keeps its default member value.
  -Wno-missing-field-initializers)
# GCC 12 at -O3 reports false -Wrestrict warnings inside libstdc++'s std::string when a
# short literal is assigned or inserted (GCC bug 105329, fixed in GCC 13); they are not in
# our code and would fail the -Werror build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(facegate_warnings INTERFACE -Wno-restrict)
endif()
if(FACEGATE_WERROR)
  target_compile_options(facegate_warnings INTERFACE -Werror)
endif()

# AddressSanitizer + UndefinedBehaviorSanitizer (`scripts/test.sh --sanitize` runs the whole
# suite with it). Every facegate target gets it through facegate_apply_warnings: the libraries,
# facegate, facegated and the test executables. Third-party shared libraries are not
# instrumented, and neither, unless FACEGATE_SANITIZE_NETWORK is ON, is the translation unit
# that instantiates dlib's ResNet (src/face/recognition_net.cpp: dlib's own header code, by
# far the slowest to build and to run instrumented; see src/CMakeLists.txt).
option(FACEGATE_SANITIZE_NETWORK
  "With FACEGATE_SANITIZE, also instrument the dlib network's translation unit" OFF)
add_library(facegate_sanitizers INTERFACE)
if(FACEGATE_SANITIZE)
  target_compile_options(facegate_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(facegate_sanitizers INTERFACE -fsanitize=address,undefined)
  # GCC's flow-sensitive warnings see the sanitizers' extra checks as paths and report
  # impossible cases (measured with GCC 12: -Wmaybe-uninitialized on an engaged std::optional in
  # the signal tests, -Wstringop-overflow on a vector::resize in the badge tests). GCC's manual
  # recommends against combining -Werror with sanitizers; they stay warnings here, and errors
  # in the normal -Werror build of the same code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(facegate_sanitizers INTERFACE
      -Wno-error=maybe-uninitialized -Wno-error=stringop-overflow -Wno-error=stringop-overread
      -Wno-error=array-bounds -Wno-error=null-dereference)
  endif()
endif()

function(facegate_apply_warnings target)
  target_link_libraries(${target} PRIVATE facegate_warnings facegate_sanitizers)
endfunction()
