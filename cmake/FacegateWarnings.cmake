# Strict warnings for facegate's own targets (never for third-party headers, which come in
# as SYSTEM includes). facegate_apply_warnings(<target>) is called by every module.
add_library(facegate_warnings INTERFACE)
target_compile_options(facegate_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic -Wconversion -Wno-sign-conversion
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough
  # Designated initializers name what they set; the rest keeps its default member value.
  -Wno-missing-field-initializers)
if(FACEGATE_WERROR)
  target_compile_options(facegate_warnings INTERFACE -Werror)
endif()

add_library(facegate_sanitizers INTERFACE)
if(FACEGATE_SANITIZE)
  target_compile_options(facegate_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(facegate_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

function(facegate_apply_warnings target)
  target_link_libraries(${target} PRIVATE facegate_warnings facegate_sanitizers)
endfunction()
