#!/bin/sh
# The public header compiles alone as C89, C99, C11 and C++ (98 and 17), warning-free.
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include <safetensors.h>\nint main(void) { st_open_options o = ST_OPEN_OPTIONS_INIT; (void)o; return (int)st_dtype_bits(ST_F32) - 32; }\n' > "$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
W="-Wall -Wextra -Werror -pedantic -Iinclude"
for std in c89 c99 c11; do cc -std=$std $W -fsyntax-only "$tmp/h.c"; echo "check-header: $std ok"; done
if command -v c++ >/dev/null 2>&1; then
    for std in c++98 c++11 c++17; do c++ -std=$std $W -Wno-long-long -fsyntax-only "$tmp/h.cpp"; echo "check-header: $std ok"; done
else
    echo "check-header: no C++ compiler (apt-get install g++), C++ skipped"; exit 1
fi
