/* st_tensor_view: the dtype-generic in-place view (alignment and byte order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stt.h"

static int host_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Opens hdr + data from a buffer placed at base + shift, so data offsets land at
 * chosen addresses; returns the handle (buffer in *keep). */
static st_file *open_shifted(const char *hdr, uint64_t dlen, size_t shift, unsigned char **keep)
{
    size_t n;
    unsigned char *b = stt_build_str(hdr, dlen, &n);
    unsigned char *area = malloc(n + 16);
    st_file *f = NULL;
    st_error e;
    assert_non_null(area);
    memcpy(area + shift, b, n);
    free(b);
    assert_int_equal(st_open_memory(&f, area + shift, n, NULL, &e), ST_OK);
    *keep = area;
    return f;
}

static void view_alignment_rules(void **state)
{
    /* header of 64 bytes (padded) so the data section starts 72 bytes in */
    const char *hdr = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                      "\"b\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[1,2]},"
                      "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]},"
                      "\"d\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[4,12]},"
                      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]},"
                      "\"f\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[12,20]}}";
    size_t shift;
    (void)state;
    for (shift = 0; shift < 16; shift++) {
        unsigned char *keep;
        st_file *f = open_shifted(hdr, 20, shift, &keep);
        const void *p = (const void *)1;
        const char *names = "abcdef";
        int i;
        for (i = 0; i < 6; i++) {
            char nm[2] = {names[i], 0};
            const st_tensor *t = st_tensor_find(f, nm);
            uintptr_t addr;
            size_t align;
            st_status want, got;
            assert_non_null(t);
            addr = (uintptr_t)t->data;
            align = t->dtype == ST_C64 ? 4 : (st_dtype_bits(t->dtype) >= 8 ? st_dtype_bits(t->dtype) / 8 : 1);
            if (t->numel && addr % align) want = ST_E_MISALIGNED;
            else want = ST_OK;
            if (!host_le() && align > 1) want = ST_E_BYTE_ORDER;
            got = st_tensor_view(t, &p);
            if (got != want) print_error("shift %zu tensor %s: want %s got %s\n", shift, nm,
                                         st_status_name(want), st_status_name(got));
            assert_int_equal(got, want);
            if (want == ST_OK) assert_ptr_equal(p, t->data);
            else assert_null(p);
        }
        st_close(f);
        free(keep);
    }
}

static void view_null_args(void **state)
{
    const void *p = (const void *)1;
    (void)state;
    assert_int_equal(st_tensor_view(NULL, &p), ST_E_INVALID_ARGUMENT);
    assert_null(p);
    assert_int_equal(st_tensor_view(NULL, NULL), ST_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(view_alignment_rules),
        cmocka_unit_test(view_null_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
