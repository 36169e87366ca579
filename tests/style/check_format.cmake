# Fails, listing the files, when any C++ source differs from clang-format's output.
# Fix with: clang-format -i $(git ls-files '*.cc' '*.h')
file(GLOB_RECURSE sources
  ${SOURCE_DIR}/common/*.cc ${SOURCE_DIR}/common/*.h
  ${SOURCE_DIR}/operator/*.cc ${SOURCE_DIR}/operator/*.h
  ${SOURCE_DIR}/sidecar/*.cc ${SOURCE_DIR}/sidecar/*.h
  ${SOURCE_DIR}/tests/*.cc ${SOURCE_DIR}/tests/*.h
  ${SOURCE_DIR}/bench/*.cc ${SOURCE_DIR}/bench/*.h)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${sources}
  RESULT_VARIABLE rc ERROR_VARIABLE out OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  string(REGEX MATCHALL "[^\n]*: error: code should be clang-formatted" bad "${out}")
  list(LENGTH bad count)
  message(FATAL_ERROR "${count} places are not clang-format clean; run: clang-format -i $(git ls-files '*.cc' '*.h')\n${out}")
endif()
