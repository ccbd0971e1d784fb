/* The dtype table: names and bits per element. */
#include "internal.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned char len;
    unsigned char bits;
} st__dtypes[ST_DTYPE_COUNT_] = {
    {NULL, 0, 0},
    {"BOOL", 4, 8},        {"U8", 2, 8},          {"I8", 2, 8},
    {"F8_E5M2", 7, 8},     {"F8_E4M3", 7, 8},     {"F8_E8M0", 7, 8},
    {"F8_E4M3FNUZ", 11, 8}, {"F8_E5M2FNUZ", 11, 8}, {"F4", 2, 4},
    {"F6_E2M3", 7, 6},     {"F6_E3M2", 7, 6},     {"I16", 3, 16},
    {"U16", 3, 16},        {"F16", 3, 16},        {"BF16", 4, 16},
    {"I32", 3, 32},        {"U32", 3, 32},        {"F32", 3, 32},
    {"C64", 3, 64},        {"F64", 3, 64},        {"I64", 3, 64},
    {"U64", 3, 64},
};

const char *st_dtype_name(int dtype)
{
    if (dtype <= ST_DTYPE_INVALID || dtype >= ST_DTYPE_COUNT_) return NULL;
    return st__dtypes[dtype].name;
}

unsigned st_dtype_bits(int dtype)
{
    if (dtype <= ST_DTYPE_INVALID || dtype >= ST_DTYPE_COUNT_) return 0;
    return st__dtypes[dtype].bits;
}

st_dtype st_dtype_from_name_n(const char *name, size_t len)
{
    int i;
    if (!name || len < 2 || len > 11) return ST_DTYPE_INVALID;
    /* the common ones first, without a scan */
    if (len == 4 && memcmp(name, "BF16", 4) == 0) return ST_BF16;
    if (len == 3 && name[0] == 'F') {
        if (name[1] == '3' && name[2] == '2') return ST_F32;
        if (name[1] == '1' && name[2] == '6') return ST_F16;
    }
    for (i = 1; i < ST_DTYPE_COUNT_; i++)
        if (st__dtypes[i].len == len && st__dtypes[i].name[0] == name[0] &&
            memcmp(st__dtypes[i].name, name, len) == 0)
            return (st_dtype)i;
    return ST_DTYPE_INVALID;
}

st_dtype st_dtype_from_name(const char *name)
{
    if (!name) return ST_DTYPE_INVALID;
    return st_dtype_from_name_n(name, strlen(name));
}
