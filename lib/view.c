/* Typed zero-copy views and copies out of the tensor bytes. */
#include "internal.h"

#include <string.h>

int st__host_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

static st_status st__view(const st_tensor *t, const void **out, st_dtype want, size_t align,
                          size_t size)
{
    if (!out) return ST_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!t) return ST_E_INVALID_ARGUMENT;
    if (t->dtype != want) return ST_E_DTYPE_MISMATCH;
    if (!t->data) return ST_E_NO_DATA; /* st_open_reader / st_open_header */
    if (size > 1 && st__host_big_endian()) return ST_E_BYTE_ORDER;
    /* nothing can be read through an empty view, so its address does not matter */
    if (t->numel && ((uintptr_t)t->data) % align) return ST_E_MISALIGNED;
    *out = t->data;
    return ST_OK;
}

/* Views require natural alignment (the element size; 4 for C64's float pairs),
 * which is at least what every ABI needs for these types. */

#define ST__DEFINE_VIEW(fn, T, D, ALIGN)                                                     \
    st_status fn(const st_tensor *t, const T **out)                                       \
    {                                                                                      \
        const void *p = NULL;                                                              \
        st_status s = st__view(t, out ? &p : NULL, D, ALIGN, sizeof(T));      \
        if (out) *out = (const T *)p;                                                      \
        return s;                                                                          \
    }

ST__DEFINE_VIEW(st_tensor_as_f32, float, ST_F32, sizeof(float))
ST__DEFINE_VIEW(st_tensor_as_f64, double, ST_F64, sizeof(double))
ST__DEFINE_VIEW(st_tensor_as_f16, uint16_t, ST_F16, sizeof(uint16_t))
ST__DEFINE_VIEW(st_tensor_as_bf16, uint16_t, ST_BF16, sizeof(uint16_t))
ST__DEFINE_VIEW(st_tensor_as_c64, float, ST_C64, 4)
ST__DEFINE_VIEW(st_tensor_as_i8, int8_t, ST_I8, sizeof(int8_t))
ST__DEFINE_VIEW(st_tensor_as_u8, uint8_t, ST_U8, sizeof(uint8_t))
ST__DEFINE_VIEW(st_tensor_as_bool, uint8_t, ST_BOOL, sizeof(uint8_t))
ST__DEFINE_VIEW(st_tensor_as_i16, int16_t, ST_I16, sizeof(int16_t))
ST__DEFINE_VIEW(st_tensor_as_u16, uint16_t, ST_U16, sizeof(uint16_t))
ST__DEFINE_VIEW(st_tensor_as_i32, int32_t, ST_I32, sizeof(int32_t))
ST__DEFINE_VIEW(st_tensor_as_u32, uint32_t, ST_U32, sizeof(uint32_t))
ST__DEFINE_VIEW(st_tensor_as_i64, int64_t, ST_I64, sizeof(int64_t))
ST__DEFINE_VIEW(st_tensor_as_u64, uint64_t, ST_U64, sizeof(uint64_t))

st_status st_tensor_view(const st_tensor *t, const void **out)
{
    unsigned bits;
    size_t size;
    if (!t || !out) {
        if (out) *out = NULL;
        return ST_E_INVALID_ARGUMENT;
    }
    bits = st_dtype_bits(t->dtype);
    size = bits >= 8 ? bits / 8 : 1;
    return st__view(t, out, t->dtype, t->dtype == ST_C64 ? 4 : size, size);
}

st_status st_tensor_copy(const st_tensor *t, uint64_t byte_offset, void *dst, uint64_t size)
{
    if (!t || (!dst && size)) return ST_E_INVALID_ARGUMENT;
    if (!t->data) return ST_E_NO_DATA;
    if (byte_offset > t->nbytes || size > t->nbytes - byte_offset) return ST_E_RANGE;
    if (size) memcpy(dst, (const unsigned char *)t->data + (size_t)byte_offset, (size_t)size);
    return ST_OK;
}
