#!/bin/sh
# Installs into a DESTDIR, then builds and runs a program through
# `pkg-config --cflags --libs safetensors` against that install.
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=/opt/st-test
make --no-print-directory -s B=build/install-test PREFIX=$prefix DESTDIR="$tmp/root" install >/dev/null
root="$tmp/root$prefix"
for f in include/safetensors.h lib/libsafetensors.a lib/libsafetensors.so lib/pkgconfig/safetensors.pc bin/st-inspect \
         bin/st-convert share/man/man1/st-convert.1; do
    [ -e "$root/$f" ] || { echo "check-install: missing $f"; exit 1; }
done
cat > "$tmp/app.c" <<'C'
#include <safetensors.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    static const char hdr[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char buf[8 + sizeof hdr - 1 + 4];
    uint64_t n = sizeof hdr - 1; st_file *f; st_error e; int i;
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, hdr, n); memset(buf + 8 + n, 0, 4);
    if (st_open_memory(&f, buf, sizeof buf, NULL, &e) != ST_OK) { printf("%s\n", e.message); return 1; }
    printf("pkg-config app: %s, %u tensor(s), version %s\n", st_tensor_find(f, "w")->name,
           (unsigned)st_tensor_count(f), st_version_string());
    st_close(f); return 0;
}
C
# pkg-config rewrites paths under PKG_CONFIG_SYSROOT_DIR, the DESTDIR.
export PKG_CONFIG_PATH="$root/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs safetensors)
cc -std=c99 -Wall -Werror -o "$tmp/app" "$tmp/app.c" $flags
LD_LIBRARY_PATH="$root/lib" "$tmp/app"
LD_LIBRARY_PATH="$root/lib" ldd "$tmp/app" | grep -q "$root/lib/libsafetensors.so" || { echo "check-install: app not linked against the installed shared library"; exit 1; }
static=$(pkg-config --static --libs safetensors)
echo "check-install: ok (pkg-config: $flags)"
make --no-print-directory -s B=build/install-test PREFIX=$prefix DESTDIR="$tmp/root" uninstall
left=$(find "$tmp/root" -type f | wc -l)
[ "$left" -eq 0 ] || { echo "check-install: uninstall left $left files"; find "$tmp/root" -type f; exit 1; }
echo "check-install: uninstall removed every file"
