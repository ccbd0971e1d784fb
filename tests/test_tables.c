/* Tables: dtype names and bits, status names and messages, pinned numbers,
 * version macros versus the runtime version. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <safetensors.h>

/* ---------------------------------------------------------------- dtypes */

typedef struct dtype_row {
    int value;   /* pinned number */
    st_dtype dt; /* enum constant */
    const char *name;
    unsigned bits;
} dtype_row;

static const dtype_row DTYPES[] = {
    {1, ST_BOOL, "BOOL", 8},
    {2, ST_U8, "U8", 8},
    {3, ST_I8, "I8", 8},
    {4, ST_F8_E5M2, "F8_E5M2", 8},
    {5, ST_F8_E4M3, "F8_E4M3", 8},
    {6, ST_F8_E8M0, "F8_E8M0", 8},
    {7, ST_F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {8, ST_F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {9, ST_F4, "F4", 4},
    {10, ST_F6_E2M3, "F6_E2M3", 6},
    {11, ST_F6_E3M2, "F6_E3M2", 6},
    {12, ST_I16, "I16", 16},
    {13, ST_U16, "U16", 16},
    {14, ST_F16, "F16", 16},
    {15, ST_BF16, "BF16", 16},
    {16, ST_I32, "I32", 32},
    {17, ST_U32, "U32", 32},
    {18, ST_F32, "F32", 32},
    {19, ST_C64, "C64", 64},
    {20, ST_F64, "F64", 64},
    {21, ST_I64, "I64", 64},
    {22, ST_U64, "U64", 64},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

static void test_dtype_pinned_numbers(void **state)
{
    size_t i;
    (void)state;
    assert_int_equal(N_DTYPES, 22);
    assert_int_equal(ST_DTYPE_INVALID, 0);
    assert_int_equal(ST_DTYPE_COUNT_, 23);
    for (i = 0; i < N_DTYPES; i++) {
        if ((int)DTYPES[i].dt != DTYPES[i].value) {
            print_error("dtype %s: enum %d, pinned %d\n", DTYPES[i].name, (int)DTYPES[i].dt,
                        DTYPES[i].value);
            fail();
        }
    }
}

static void test_dtype_name_all(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < N_DTYPES; i++) {
        const char *n = st_dtype_name(DTYPES[i].value);
        if (n == NULL || strcmp(n, DTYPES[i].name) != 0) {
            print_error("st_dtype_name(%d): want \"%s\", got %s%s%s\n", DTYPES[i].value,
                        DTYPES[i].name, n ? "\"" : "", n ? n : "NULL", n ? "\"" : "");
            fail();
        }
    }
}

static void test_dtype_from_name_all(void **state)
{
    size_t i;
    char buf[64];
    (void)state;
    for (i = 0; i < N_DTYPES; i++) {
        size_t len = strlen(DTYPES[i].name);
        assert_int_equal(st_dtype_from_name(DTYPES[i].name), DTYPES[i].value);
        assert_int_equal(st_dtype_from_name_n(DTYPES[i].name, len), DTYPES[i].value);
        /* _n does not need a terminator: the name followed by junk */
        memset(buf, 'Z', sizeof buf);
        memcpy(buf, DTYPES[i].name, len);
        assert_int_equal(st_dtype_from_name_n(buf, len), DTYPES[i].value);
        /* one byte more or less is not the name */
        assert_int_equal(st_dtype_from_name_n(buf, len + 1), ST_DTYPE_INVALID);
        assert_int_not_equal(st_dtype_from_name_n(buf, len - 1), DTYPES[i].dt);
    }
}

static void test_dtype_bits_all(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < N_DTYPES; i++) {
        if (st_dtype_bits(DTYPES[i].value) != DTYPES[i].bits) {
            print_error("st_dtype_bits(%s): want %u, got %u\n", DTYPES[i].name, DTYPES[i].bits,
                        st_dtype_bits(DTYPES[i].value));
            fail();
        }
    }
}

static const int BAD_DTYPES[] = {-1, 0, 23, 24, 100, 1000, -1000, INT_MIN, INT_MAX};

static void test_dtype_invalid_values(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof BAD_DTYPES / sizeof BAD_DTYPES[0]; i++) {
        if (st_dtype_name(BAD_DTYPES[i]) != NULL || st_dtype_bits(BAD_DTYPES[i]) != 0) {
            print_error("dtype value %d: want NULL name and 0 bits\n", BAD_DTYPES[i]);
            fail();
        }
    }
}

static const char *const BAD_NAMES[] = {
    "", "f32", "F3", "F", "F32 ", " F32", "bool", "Bool", "bf16", "Bf16", "FLOAT32",
    "float32", "F8", "F6", "F8_E4M3FN", "F8_e4m3", "F6_E2M3 ", "U128", "F128", "F4x",
    "__metadata__", "BOOL\t", "I 8", "\xc3\xa9",
};

static void test_dtype_from_name_invalid(void **state)
{
    size_t i;
    (void)state;
    assert_int_equal(st_dtype_from_name(NULL), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n(NULL, 0), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n(NULL, 3), ST_DTYPE_INVALID);
    for (i = 0; i < sizeof BAD_NAMES / sizeof BAD_NAMES[0]; i++) {
        if (st_dtype_from_name(BAD_NAMES[i]) != ST_DTYPE_INVALID ||
            st_dtype_from_name_n(BAD_NAMES[i], strlen(BAD_NAMES[i])) != ST_DTYPE_INVALID) {
            print_error("dtype name \"%s\" should be invalid\n", BAD_NAMES[i]);
            fail();
        }
    }
    /* a prefix of a name through _n, an embedded NUL, a zero length */
    assert_int_equal(st_dtype_from_name_n("F32", 2), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("F32", 0), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("F32\0", 4), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("U8\0x", 4), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("BF16", 3), ST_DTYPE_INVALID); /* "BF1" */
}

static void test_dtype_prefix_lengths(void **state)
{
    /* "F8_E4M3FNUZ" cut at 7 is "F8_E4M3", a real dtype: _n must honour len. */
    (void)state;
    assert_int_equal(st_dtype_from_name_n("F8_E4M3FNUZ", 7), ST_F8_E4M3);
    assert_int_equal(st_dtype_from_name_n("F8_E5M2FNUZ", 7), ST_F8_E5M2);
    assert_int_equal(st_dtype_from_name_n("U16", 1), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("U16", 2), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("I64", 2), ST_DTYPE_INVALID);
    assert_int_equal(st_dtype_from_name_n("U8x", 2), ST_U8);
    assert_int_equal(st_dtype_from_name_n("I8", 2), ST_I8);
}

/* ---------------------------------------------------------------- statuses */

typedef struct status_row {
    int value;
    st_status s;
    const char *name;
} status_row;

static const status_row STATUSES[] = {
    {0, ST_OK, "ST_OK"},
    {1, ST_E_INVALID_ARGUMENT, "ST_E_INVALID_ARGUMENT"},
    {2, ST_E_NOMEM, "ST_E_NOMEM"},
    {3, ST_E_IO, "ST_E_IO"},
    {4, ST_E_HEADER_TOO_SMALL, "ST_E_HEADER_TOO_SMALL"},
    {5, ST_E_HEADER_TOO_LARGE, "ST_E_HEADER_TOO_LARGE"},
    {6, ST_E_HEADER_LENGTH, "ST_E_HEADER_LENGTH"},
    {7, ST_E_UTF8, "ST_E_UTF8"},
    {8, ST_E_JSON, "ST_E_JSON"},
    {9, ST_E_SCHEMA, "ST_E_SCHEMA"},
    {10, ST_E_DTYPE, "ST_E_DTYPE"},
    {11, ST_E_DUPLICATE, "ST_E_DUPLICATE"},
    {12, ST_E_METADATA, "ST_E_METADATA"},
    {13, ST_E_NAME, "ST_E_NAME"},
    {14, ST_E_OFFSETS, "ST_E_OFFSETS"},
    {15, ST_E_OVERFLOW, "ST_E_OVERFLOW"},
    {16, ST_E_PARTIAL_BYTE, "ST_E_PARTIAL_BYTE"},
    {17, ST_E_SIZE_MISMATCH, "ST_E_SIZE_MISMATCH"},
    {18, ST_E_COVERAGE, "ST_E_COVERAGE"},
    {19, ST_E_WRONG_FORMAT, "ST_E_WRONG_FORMAT"},
    {20, ST_E_NOT_FOUND, "ST_E_NOT_FOUND"},
    {21, ST_E_DTYPE_MISMATCH, "ST_E_DTYPE_MISMATCH"},
    {22, ST_E_MISALIGNED, "ST_E_MISALIGNED"},
    {23, ST_E_RANGE, "ST_E_RANGE"},
    {24, ST_E_BYTE_ORDER, "ST_E_BYTE_ORDER"},
    {25, ST_E_TOO_BIG, "ST_E_TOO_BIG"},
    {26, ST_E_INCOMPLETE, "ST_E_INCOMPLETE"},
    {27, ST_E_WRITTEN_TWICE, "ST_E_WRITTEN_TWICE"},
    {28, ST_E_NO_DATA, "ST_E_NO_DATA"},
    {29, ST_E_NEED_MORE, "ST_E_NEED_MORE"},
    {30, ST_E_BUFFER_TOO_SMALL, "ST_E_BUFFER_TOO_SMALL"},
};
#define N_STATUSES (sizeof STATUSES / sizeof STATUSES[0])

/* The messages as the header's list spells them. */
typedef struct status_msg {
    int value;
    const char *msg;
} status_msg;
static const status_msg MESSAGES[] = {
#define ROW_(name, num, msg) {num, msg},
    ST_STATUS_LIST(ROW_)
#undef ROW_
};

static void test_status_pinned_numbers(void **state)
{
    size_t i;
    (void)state;
    assert_int_equal(N_STATUSES, 31);
    assert_int_equal(ST_STATUS_COUNT_, 31);
    assert_int_equal(sizeof MESSAGES / sizeof MESSAGES[0], 31);
    for (i = 0; i < N_STATUSES; i++) {
        if ((int)STATUSES[i].s != STATUSES[i].value || MESSAGES[i].value != (int)i) {
            print_error("status %s: enum %d, pinned %d\n", STATUSES[i].name, (int)STATUSES[i].s,
                        STATUSES[i].value);
            fail();
        }
    }
}

static void test_status_name_all(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < N_STATUSES; i++) {
        const char *n = st_status_name(STATUSES[i].value);
        if (n == NULL || strcmp(n, STATUSES[i].name) != 0) {
            print_error("st_status_name(%d): want %s, got %s\n", STATUSES[i].value,
                        STATUSES[i].name, n ? n : "NULL");
            fail();
        }
    }
}

static void test_status_message_all(void **state)
{
    size_t i, j;
    (void)state;
    for (i = 0; i < N_STATUSES; i++) {
        const char *m = st_status_message(STATUSES[i].value);
        if (m == NULL || strcmp(m, MESSAGES[i].msg) != 0) {
            print_error("st_status_message(%s): want \"%s\", got \"%s\"\n", STATUSES[i].name,
                        MESSAGES[i].msg, m ? m : "NULL");
            fail();
        }
        assert_true(strlen(m) > 0);
        /* every message differs from every other one, and from "unknown status" */
        for (j = 0; j < i; j++) assert_string_not_equal(m, st_status_message(STATUSES[j].value));
        assert_string_not_equal(m, "unknown status");
    }
}

static const int BAD_STATUSES[] = {-1, 31, 32, 100, 1000, -1000, INT_MIN, INT_MAX};

static void test_status_out_of_range(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof BAD_STATUSES / sizeof BAD_STATUSES[0]; i++) {
        const char *n = st_status_name(BAD_STATUSES[i]);
        const char *m = st_status_message(BAD_STATUSES[i]);
        if (n == NULL || m == NULL || strcmp(n, "ST_UNKNOWN_STATUS") != 0 ||
            strcmp(m, "unknown status") != 0) {
            print_error("status %d: want ST_UNKNOWN_STATUS / unknown status, got %s / %s\n",
                        BAD_STATUSES[i], n ? n : "NULL", m ? m : "NULL");
            fail();
        }
    }
    /* static strings: the same text on every call */
    assert_string_equal(st_status_name(-1), st_status_name(1000));
    assert_string_equal(st_status_name(ST_STATUS_COUNT_), "ST_UNKNOWN_STATUS");
}

/* ---------------------------------------------------------------- other constants */

static void test_pinned_constants(void **state)
{
    (void)state;
    assert_int_equal(ST_ERROR_HAS_OFFSET, 1u);
    assert_int_equal(ST_ERROR_HAS_TENSOR, 2u);
    assert_int_equal(ST_ERROR_TENSOR_TRUNCATED, 4u);
    assert_int_equal(ST_LENIENT_TRAILING_BYTES, 0x1u);
    assert_int_equal(ST_LENIENT_NUL_PADDING, 0x2u);
    assert_int_equal(ST_OPEN_CLOSE_FD, 0x100u);
    assert_int_equal(ST_OPEN_READ, 0x200u);
    assert_int_equal(ST_DEFAULT_MAX_HEADER_SIZE, 100000000u);
    assert_int_equal(ST_MAX_HEADER_SIZE_LIMIT, 2000000000u);
    assert_int_equal(ST_METADATA_ABSENT, 0);
    assert_int_equal(ST_METADATA_NULL, 1);
    assert_int_equal(ST_METADATA_OBJECT, 2);
}

static void test_struct_layouts(void **state)
{
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    (void)state;
    /* st_error: fixed for major version 0 */
    assert_int_equal(offsetof(st_error, code), 0);
    assert_int_equal(offsetof(st_error, flags), 4);
    assert_int_equal(offsetof(st_error, offset), 8);
    assert_int_equal(offsetof(st_error, sys_errno), 16);
    assert_int_equal(offsetof(st_error, tensor), 20);
    assert_int_equal(offsetof(st_error, message), 148);
    assert_int_equal(sizeof(((st_error *)0)->tensor), 128);
    assert_int_equal(sizeof(((st_error *)0)->message), 256);
    /* 404 bytes of members and 4 reserved: 408 on every ABI (i386 included,
     * where uint64_t is aligned to 4 in structs) */
    assert_int_equal(offsetof(st_error, reserved_), 404);
    assert_int_equal(sizeof(st_error), 408);
    /* options prefix that the size check relies on */
    assert_int_equal(offsetof(st_open_options, struct_size), 0);
    assert_int_equal(offsetof(st_open_options, flags), 4);
    assert_int_equal(offsetof(st_open_options, max_header_size), 8);
    assert_int_equal(o.struct_size, sizeof(st_open_options));
    assert_int_equal(o.flags, 0);
    assert_int_equal(o.max_header_size, 0);
    assert_null(o.allocator);
    assert_int_equal(o.read_gap, 0);
    /* appended after allocator, so older struct_size values stop before it */
    assert_true(offsetof(st_open_options, read_gap) >= offsetof(st_open_options, allocator) +
                                                          sizeof(o.allocator));
    {
        st_reader r = ST_READER_INIT;
        assert_int_equal(offsetof(st_reader, struct_size), 0);
        assert_int_equal(offsetof(st_reader, flags), 4);
        assert_int_equal(r.struct_size, sizeof(st_reader));
        assert_int_equal(r.flags, 0);
        assert_null(r.read);
        assert_null(r.ctx);
    }
}

/* ---------------------------------------------------------------- version */

static void test_version(void **state)
{
    char want[32];
    (void)state;
    assert_int_equal(ST_VERSION_NUMBER,
                     ST_VERSION_MAJOR * 10000 + ST_VERSION_MINOR * 100 + ST_VERSION_PATCH);
    assert_int_equal(st_version_number(), ST_VERSION_NUMBER);
    snprintf(want, sizeof want, "%d.%d.%d", ST_VERSION_MAJOR, ST_VERSION_MINOR,
             ST_VERSION_PATCH);
    assert_non_null(st_version_string());
    assert_string_equal(st_version_string(), want);
    /* the header says "0.1.0" for this release */
    assert_int_equal(ST_VERSION_MAJOR, 0);
    assert_int_equal(ST_VERSION_MINOR, 1);
    assert_int_equal(ST_VERSION_PATCH, 0);
    assert_int_equal(st_version_number(), 100);
    assert_string_equal(st_version_string(), "0.1.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtype_pinned_numbers),
        cmocka_unit_test(test_dtype_name_all),
        cmocka_unit_test(test_dtype_from_name_all),
        cmocka_unit_test(test_dtype_bits_all),
        cmocka_unit_test(test_dtype_invalid_values),
        cmocka_unit_test(test_dtype_from_name_invalid),
        cmocka_unit_test(test_dtype_prefix_lengths),
        cmocka_unit_test(test_status_pinned_numbers),
        cmocka_unit_test(test_status_name_all),
        cmocka_unit_test(test_status_message_all),
        cmocka_unit_test(test_status_out_of_range),
        cmocka_unit_test(test_pinned_constants),
        cmocka_unit_test(test_struct_layouts),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests_name("tables", tests, NULL, NULL);
}
