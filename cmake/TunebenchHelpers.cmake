# Helpers shared by every target. Warnings and sanitizers are set per target, never through the
# global CMAKE_CXX_FLAGS, so that LibTorch's and Qt's own flags stay where they belong.
include_guard(GLOBAL)

# tunebench_set_warnings(<target>): the project's warning set for our own code.
function(tunebench_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
  # GCC 12 reports impossible bounds inside inlined std::string concatenation at -O2 (GCC bugs
  # 105329, 105651): noise that hides real warnings, so those three checks are off for GCC < 13.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict -Wno-stringop-overflow -Wno-array-bounds>)
  endif()
  if(TUNEBENCH_ASAN)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# tunebench_qt_target(<target>): settings every target that touches Qt needs. QT_NO_KEYWORDS
# because Qt's `slots`/`signals`/`emit` macros break LibTorch headers (use Q_SLOTS, Q_SIGNALS, Q_EMIT).
function(tunebench_qt_target target)
  target_compile_definitions(${target} PRIVATE QT_NO_KEYWORDS)
  set_target_properties(${target} PROPERTIES AUTOMOC ON)
endfunction()

# Settings common to every test executable and to the test PCH targets (they must agree, or the
# precompiled header is rejected).
function(_tunebench_test_settings target layer)
  if(layer STREQUAL "ui")
    target_link_libraries(${target} PRIVATE Qt6::Test tunebench_ui tunebench_core)
  else()
    target_link_libraries(${target} PRIVATE Qt6::Test tunebench_core)
  endif()
  tunebench_qt_target(${target})
  tunebench_set_warnings(${target})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${target} PRIVATE nlohmann_json::nlohmann_json)
  target_compile_definitions(${target} PRIVATE
    TUNEBENCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TUNEBENCH_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures")
endfunction()

# tunebench_test_pch(<layer>): one precompiled header (LibTorch + QtTest) per test layer.
function(tunebench_test_pch layer)
  set(pch tunebench_test_pch_${layer})
  add_library(${pch} OBJECT ${PROJECT_SOURCE_DIR}/tests/pch_dummy.cpp)
  _tunebench_test_settings(${pch} ${layer})
  set_target_properties(${pch} PROPERTIES AUTOMOC OFF)
  target_precompile_headers(${pch} PRIVATE ${PROJECT_SOURCE_DIR}/tests/test_pch.h)
endfunction()

# tunebench_add_test(<name> SOURCES a.cpp... [LAYER core|ui] [LIBS lib...] [LABELS l...] [TIMEOUT s]):
# one Qt Test executable per class, registered with ctest under its labels.
# Labels: unit, golden, model, gui, slow, shim (needs the sentencepiece shim: not under ASan), gpu.
function(tunebench_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT;LAYER" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_LAYER)
    set(T_LAYER core)
  endif()
  add_executable(${name} ${T_SOURCES})
  _tunebench_test_settings(${name} ${T_LAYER})
  target_link_libraries(${name} PRIVATE tunebench_test_support)
  if(T_LIBS)
    target_link_libraries(${name} PRIVATE ${T_LIBS})
  endif()
  if(TUNEBENCH_USE_PCH AND TARGET tunebench_test_pch_${T_LAYER})
    target_precompile_headers(${name} REUSE_FROM tunebench_test_pch_${T_LAYER})
    # AUTOMOC's mocs_compilation.cpp is empty (each test includes its own .moc): loading the 700 MB
    # precompiled header for it cost 8 s per test.
    set_source_files_properties(${CMAKE_CURRENT_BINARY_DIR}/${name}_autogen/mocs_compilation.cpp
                                TARGET_DIRECTORY ${name} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES
    LABELS "${T_LABELS}"
    TIMEOUT ${T_TIMEOUT}
    # Qt Test's own per-function watchdog (5 minutes by default) follows the test's time limit: a
    # slow function under a parallel ctest run is not killed before ctest would kill the test.
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;TUNEBENCH_BIN_DIR=${CMAKE_BINARY_DIR}/bin;QTEST_FUNCTION_TIMEOUT=${T_TIMEOUT}000")
endfunction()

# tunebench_unity(<target>): compile the target in unity batches when TUNEBENCH_UNITY_BUILD is on.
# Files with their own compile options are left out of the batches by CMake.
function(tunebench_unity target)
  if(TUNEBENCH_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()
