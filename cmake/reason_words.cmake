# Turns the pages' Chinese words for each refusal (clients/web/common/reasons.js, the one place
# they are written) into C++ initializers for the `lovebank` CLI: {"AMOUNT_EXPONENT", "数量请…"},
#   cmake -DIN=clients/web/common/reasons.js -DOUT=.../reason_words.inc -P cmake/reason_words.cmake
file(STRINGS "${IN}" lines ENCODING UTF-8 REGEX "^  [A-Z][A-Z0-9_]*: '[^'\\;]*',$")
# Every reason's line must be of that plain shape: one that is not (an escaped quote, a comment
# after it, a `;`) would lose its words in the CLI without a word, so it stops the build instead.
file(STRINGS "${IN}" keys ENCODING UTF-8 REGEX "^  [A-Z][A-Z0-9_]*:")
list(LENGTH lines parsed)
list(LENGTH keys expected)
if(NOT parsed EQUAL expected)
  message(FATAL_ERROR "${IN}: ${expected} reasons but ${parsed} in the plain shape "
                      "`  NAME: 'words',` (no quote, backslash or semicolon in the words)")
endif()
set(text "// Generated from ${IN} by cmake/reason_words.cmake: do not edit.\n")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^  ([A-Z][A-Z0-9_]*): '([^']*)',$" "\\1" name "${line}")
  string(REGEX REPLACE "^  ([A-Z][A-Z0-9_]*): '([^']*)',$" "\\2" words "${line}")
  string(REPLACE "\\" "\\\\" words "${words}")
  string(REPLACE "\"" "\\\"" words "${words}")
  string(APPEND text "{\"${name}\", \"${words}\"},\n")
endforeach()
include("${CMAKE_CURRENT_LIST_DIR}/write_if_changed.cmake")
write_if_changed("${OUT}" "${text}")
