/* The 8-byte frame: rules 1 to 3, and recognising common wrong files. */
#include "internal.h"

#include <string.h>

st_status st__frame(st_file *f, uint64_t cap, st_error *err)
{
    const unsigned char *b = f->bytes;
    uint64_t n = 0;
    int i;
    if (f->size < 8)
        return st__fail(err, ST_E_HEADER_TOO_SMALL, 0, NULL, 0,
                        "file is %llu bytes, shorter than the 8-byte header length (rule 1)",
                        (unsigned long long)f->size);
    for (i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > cap)
        return st__fail(err, ST_E_HEADER_TOO_LARGE, 0, NULL, 0,
                        "header length %llu is above the cap of %llu bytes (rule 2)",
                        (unsigned long long)n, (unsigned long long)cap);
    if (n > UINT64_MAX - 8 || 8 + n > f->size)
        return st__fail(err, ST_E_HEADER_LENGTH, 0, NULL, 0,
                        "header length %llu runs past the end of the %llu-byte file "
                        "(rule 3; truncated download?)",
                        (unsigned long long)n, (unsigned long long)f->size);
    f->header_size = n;
    f->data_offset = 8 + n;
    return ST_OK;
}

static int st__starts_ci(const unsigned char *b, uint64_t size, const char *s)
{
    size_t n = strlen(s), i;
    if (size < n) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        if (c != (unsigned char)s[i]) return 0;
    }
    return 1;
}

const char *st__sniff(const unsigned char *b, uint64_t size)
{
    uint64_t i = 0;
    if (!b || size < 2) return NULL;
    if (size >= 23 && memcmp(b, "version https://git-lfs", 23) == 0)
        return "a Git LFS pointer file, not the model: fetch the real file "
               "(git lfs pull, or download the resolved URL)";
    if (size >= 4 && memcmp(b, "GGUF", 4) == 0)
        return "a GGUF file (llama.cpp format), not safetensors";
    if (size >= 4 && memcmp(b, "PK\x03\x04", 4) == 0)
        return "a zip archive (a PyTorch .pt/.ckpt checkpoint?), not safetensors; "
               "it may contain pickled code: do not load it with pickle";
    if (b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
        return "a Python pickle (an old PyTorch checkpoint?), not safetensors; "
               "pickles can run code: do not load it";
    if (size >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) i = 3; /* UTF-8 BOM */
    while (i < size && i < 4096 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (st__starts_ci(b + i, size - i, "<!doctype html") || st__starts_ci(b + i, size - i, "<html") ||
        st__starts_ci(b + i, size - i, "<head") || st__starts_ci(b + i, size - i, "<!--") ||
        st__starts_ci(b + i, size - i, "<?xml"))
        return "an HTML/XML page (a login or error page saved instead of the model?), "
               "not safetensors";
    return NULL;
}
