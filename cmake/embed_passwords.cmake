# Turns data/common-passwords.txt (one per line) into one C string, "\n" between entries and
# around them, so a lookup is a search for "\n<password>\n".
# Called as: cmake -DSRC=file -DOUT=file -P embed_passwords.cmake
file(READ "${SRC}" text)
string(REPLACE "\r" "" text "${text}")
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\t\"" text "${text}")
set(body "/* Generated from data/common-passwords.txt by cmake/embed_passwords.cmake. */\n#include \"core/password.h\"\n\nconst char pt_common_passwords[] =\n\t\"\\n${text}\";\n")
file(WRITE "${OUT}.tmp" "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
