# The libFuzzer harnesses of fuzz/ (PATRON_FUZZ=ON; scripts/fuzz.sh and `make fuzz` configure
# it). Every object of the tree is built with coverage for the fuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer; only the harnesses link libFuzzer's main. Included before the
# library is declared, so these options reach patron_lib too.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "PATRON_FUZZ needs clang with libFuzzer (Debian: clang libclang-rt-dev); "
    "configure with -DCMAKE_C_COMPILER=clang, or run scripts/fuzz.sh")
endif()

# -O1 and asserts kept (no NDEBUG): a programming error found by the fuzzer should stop it.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -g -O1)
add_link_options(-fsanitize=address,undefined)

# Clang's -Wcast-align, unlike GCC's, flags the weighted picker's read of a uint32_t field
# through a char pointer; the field is aligned (it is a struct member), so only this file is
# spared the warning.
set_source_files_properties(${CMAKE_SOURCE_DIR}/src/core/demo_people.c PROPERTIES
  COMPILE_OPTIONS -Wno-cast-align)

set(PATRON_FUZZERS fuzz_json fuzz_pricing fuzz_http)
foreach(name ${PATRON_FUZZERS})
  add_executable(${name} ${CMAKE_SOURCE_DIR}/fuzz/${name}.c ${CMAKE_SOURCE_DIR}/fuzz/common.c)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz)
  # patron_lib is declared after this file is included; the name is resolved at generation.
  target_link_libraries(${name} PRIVATE patron_lib)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endforeach()
add_custom_target(fuzzers DEPENDS ${PATRON_FUZZERS})
