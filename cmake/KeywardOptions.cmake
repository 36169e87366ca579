# Compiler settings shared by every target: warnings, sanitizers, ccache.
find_program(KEYWARD_CCACHE ccache)
if(KEYWARD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${KEYWARD_CCACHE}")
endif()

add_library(keyward_warnings INTERFACE)
target_compile_options(keyward_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
  # GCC 12 reports false positives inside libstdc++ (std::chrono, std::expected, std::optional).
  -Wno-maybe-uninitialized)
if(KEYWARD_WERROR)
  target_compile_options(keyward_warnings INTERFACE -Werror)
endif()

if(KEYWARD_SANITIZE)
  # -O1 -g1 after the build type's -O2 -g: a sanitizer build that compiles in about half the time
  # and still reports file:line in every stack (scripts/test.sh runs it after the main build).
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
                      -O1 -g1)
  add_link_options(-fsanitize=address,undefined)
endif()

# keyward_add_test(NAME name SOURCES a.cc b.cc LIBS lib1 lib2 [LABELS l])
# One GoogleTest executable, registered with CTest test by test.
function(keyward_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} keyward_test_support GTest::gtest GTest::gmock GTest::gtest_main keyward_warnings)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}" TIMEOUT 300
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
