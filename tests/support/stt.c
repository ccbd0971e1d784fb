#include "stt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stt_os.h"

unsigned char *stt_build(const void *hdr, size_t hdr_len, uint64_t data_len, size_t *out_size)
{
    size_t n = 8 + hdr_len + (size_t)data_len, i;
    unsigned char *b = malloc(n); /* n >= 8 */
    if (!b) abort();
    for (i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hdr_len >> (8 * i));
    if (hdr_len) memcpy(b + 8, hdr, hdr_len);
    for (i = 0; i < data_len; i++) b[8 + hdr_len + i] = (unsigned char)((i * 7 + 3) & 0xff);
    *out_size = n;
    return b;
}

unsigned char *stt_build_str(const char *hdr, uint64_t data_len, size_t *out_size)
{
    return stt_build(hdr, strlen(hdr), data_len, out_size);
}

st_status stt_check_raw(const void *bytes, size_t size, uint32_t flags, st_error *err)
{
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_status s;
    o.flags = flags;
    s = st_open_memory(&f, bytes, size, &o, err);
    st_close(f);
    return s;
}

st_status stt_check(const char *hdr, uint64_t data_len, uint32_t flags, st_error *err)
{
    size_t n;
    unsigned char *b = stt_build_str(hdr, data_len, &n);
    st_status s = stt_check_raw(b, n, flags, err);
    free(b);
    return s;
}

char *stt_write_temp(const void *bytes, size_t size)
{
    char dir[] = "/tmp/stt.XXXXXX";
    char *path;
    FILE *fp;
    if (!mkdtemp(dir)) abort();
    path = malloc(strlen(dir) + 32);
    if (!path) abort();
    sprintf(path, "%s/file.safetensors", dir);
    fp = fopen(path, "wb");
    if (!fp) abort();
    if (size && fwrite(bytes, 1, size, fp) != size) abort();
    fclose(fp);
    return path;
}

void stt_remove_temp(char *path)
{
    char *slash;
    if (!path) return;
    unlink(path);
    slash = strrchr(path, '/');
    if (slash) { *slash = '\0'; rmdir(path); }
    free(path);
}
