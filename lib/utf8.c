/* Rule 4: the header bytes, padding included, must be valid UTF-8 (RFC 3629:
 * no overlong forms, no encoded surrogates, nothing above U+10FFFF). */
#include "internal.h"

#include <string.h>

#define ST__U8_ONES UINT64_C(0x0101010101010101)
#define ST__U8_HIGHS UINT64_C(0x8080808080808080)

int st__utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
    return st__utf8_scan(s, n, bad, NULL);
}

int st__utf8_scan(const unsigned char *s, size_t n, size_t *bad, int *plain)
{
    size_t i = 0;
    uint64_t special = 0; /* a lane's high bit set: a byte < 0x20 or '\\' was seen */
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            /* ASCII fast path: 8 bytes at a time (for an ASCII word, the
             * subtractions below borrow only out of lanes < 0x20 or == '\\') */
            while (i + 16 <= n) {
                uint64_t w, v;
                memcpy(&w, s + i, 8);
                memcpy(&v, s + i + 8, 8);
                if ((w | v) & ST__U8_HIGHS) break;
                special |= (w - ST__U8_ONES * 0x20) | ((w ^ (ST__U8_ONES * '\\')) - ST__U8_ONES) |
                           (v - ST__U8_ONES * 0x20) | ((v ^ (ST__U8_ONES * '\\')) - ST__U8_ONES);
                i += 16;
            }
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & ST__U8_HIGHS) break;
                special |= (w - ST__U8_ONES * 0x20) | ((w ^ (ST__U8_ONES * '\\')) - ST__U8_ONES);
                i += 8;
            }
            while (i < n && s[i] < 0x80) {
                if (s[i] < 0x20 || s[i] == '\\') special = ST__U8_HIGHS;
                i++;
            }
            continue;
        }
        {
            unsigned lo = 0x80, hi = 0xBF;
            size_t len, k;
            if (c >= 0xC2 && c <= 0xDF) len = 2;
            else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0) lo = 0xA0;
                else if (c == 0xED) hi = 0x9F; /* U+D800..DFFF are not characters */
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0) lo = 0x90;
                else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
            } else {
                *bad = i; /* stray continuation, C0/C1 overlong lead, F5..FF */
                return 0;
            }
            if (n - i < len) { *bad = i; return 0; }
            if (s[i + 1] < lo || s[i + 1] > hi) { *bad = i; return 0; }
            for (k = 2; k < len; k++)
                if ((s[i + k] & 0xC0) != 0x80) { *bad = i; return 0; }
            i += len;
        }
    }
    if (plain) *plain = (special & ST__U8_HIGHS) == 0;
    return 1;
}
