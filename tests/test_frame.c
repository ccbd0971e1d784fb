/*
 * Rules 1-3 of FORMAT.md (the 8-byte frame), the header cap option, option
 * checking, wrong-format sniffing (section 6) and the NUL padding leniency.
 *
 * Two tables: raw file bytes (prefix included) for the frame, and header
 * texts for NUL padding. Every case asserts the exact status and offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "cases.h"
#include "stt.h"
#include "stt_os.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* every case struct here starts with its name */
#define STT_RUN_CASES(group, cases, n, fn) stt_run_cases(group, cases, n, sizeof((cases)[0]), fn)
/* fcase.struct_size value meaning "pass 0" (0 in the table means the default). */
#define SS_ZERO 0xffffffffu

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle), i, j;
    for (i = 0; hay[i]; i++) {
        for (j = 0; j < n && hay[i + j]; j++) {
            char a = hay[i + j], b = needle[j];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
            if (a != b) break;
        }
        if (j == n) return 1;
    }
    return 0;
}

/* Checks the record of a failed or successful open. why collects problems. */
static void check_record(char *why, size_t cap, st_status s, const st_error *err,
                         const st_file *f, st_status want, long long off, const char *kw)
{
    if (s != want)
        stt_say(why, cap, " status: want %s got %s;", st_status_name(want), st_status_name(s));
    if (err->code != (int)s) stt_say(why, cap, " err.code %d != returned %d;", err->code, (int)s);
    if (s == ST_OK) {
        if (!f) stt_say(why, cap, " ST_OK but no handle;");
        if (err->flags || err->offset || err->tensor[0] || err->message[0])
            stt_say(why, cap, " ST_OK but error record not cleared;");
        return;
    }
    if (f) stt_say(why, cap, " failure but *out not NULL;");
    if (s != want) return;
    if (!err->message[0]) stt_say(why, cap, " empty message;");
    /* frame, wrong-format, UTF-8 and JSON errors never concern one tensor */
    if ((err->flags & ST_ERROR_HAS_TENSOR) &&
        (s == ST_E_HEADER_TOO_SMALL || s == ST_E_HEADER_TOO_LARGE || s == ST_E_HEADER_LENGTH ||
         s == ST_E_WRONG_FORMAT || s == ST_E_UTF8 || s == ST_E_JSON || s == ST_E_INVALID_ARGUMENT))
        stt_say(why, cap, " ST_ERROR_HAS_TENSOR set;");
    if (off >= 0) {
        if (!(err->flags & ST_ERROR_HAS_OFFSET))
            stt_say(why, cap, " ST_ERROR_HAS_OFFSET not set;");
        else if (err->offset != (uint64_t)off)
            stt_say(why, cap, " offset: want %lld got %llu;", off, (unsigned long long)err->offset);
    }
    if (kw && !contains_nocase(err->message, kw))
        stt_say(why, cap, " message does not name '%s';", kw);
}

/* ------------------------------------------------------------ raw frame cases */

typedef struct fcase {
    const char *name;
    const char *bytes; /* NULL: pass a NULL pointer */
    size_t size;
    uint32_t flags;
    uint64_t max_header;
    uint32_t struct_size; /* 0: sizeof(st_open_options) */
    st_status want;
    long long off; /* OFF_NONE: not checked */
    const char *kw; /* word the message must contain (case-insensitive) */
} fcase;

static void run_fcase(void **state)
{
    static char dummy;
    const fcase *c = (const fcase *)*state;
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = (st_file *)(void *)&dummy;
    st_error err;
    st_status s;
    char why[1024] = "";
    unsigned char *copy = NULL;

    /* a private copy, so reads past the end are caught by ASan */
    if (c->bytes) {
        copy = malloc(c->size ? c->size : 1);
        assert_non_null(copy);
        memcpy(copy, c->bytes, c->size);
    }
    o.flags = c->flags;
    o.max_header_size = c->max_header;
    if (c->struct_size) o.struct_size = c->struct_size == SS_ZERO ? 0 : c->struct_size;
    memset(&err, 0x5a, sizeof err);
    s = st_open_memory(&f, copy, c->size, &o, &err);
    check_record(why, sizeof why, s, &err, f, c->want, c->off, c->kw);
    if (s == ST_OK) st_close(f);
    free(copy);
    if (why[0]) fail_msg("case %s:%s\n    message: %s", c->name, why, err.message);
}

static const char lfs[] = "version https://git-lfs.github.com/spec/v1\n"
                          "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                          "size 4265380512\n";
static const char html1[] = "<!DOCTYPE html>\n<html lang=\"en\"><head><title>model.safetensors"
                            "</title></head><body>Sign in</body></html>\n";
static const char html2[] = "<html><head><meta charset=\"utf-8\"></head><body></body></html>";
static const char html3[] = "\r\n\t  <!DOCTYPE html><html></html>";
static const char html4[] = "\n\n<html>\n<body>404</body></html>";
static const char zip1[] = "PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00\x12\x34\x56\x78"
                           "\x10\x00\x00\x00\x20\x00\x00\x00\x10\x00\x00\x00"
                           "archive/data.pkl\x80\x02}q\x00.";
static const char pk2[] = "\x80\x02}q\x00(X\x06\x00\x00\x00weightq\x01ctorch._utils\n.";
static const char pk3[] = "\x80\x03}q\x00(X\x06\x00\x00\x00weightq\x01ctorch._utils\n.";
static const char pk4[] = "\x80\x04\x95\x1b\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x06weight.";
static const char pk5[] = "\x80\x05\x95\x1b\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x06weight.";
static const char pk1[] = "\x80\x01}q\x00(X\x06\x00\x00\x00weightq\x01ctorch._utils\n.";
static const char pk6[] = "\x80\x06}q\x00(X\x06\x00\x00\x00weightq\x01ctorch._utils\n.";
static const char gguf3[] = "GGUF\x03\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"
                            "\x10\x00\x00\x00\x00\x00\x00\x00general.architecture";
static const char gguf2[] = "GGUF\x02\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"
                            "\x10\x00\x00\x00\x00\x00\x00\x00general.architecture";
static const char not_lfs[] = "version 1.0 of something else entirely\n";
/* A pickle-looking prefix whose N (640) is within the cap but past the end. */
static const char pk_short[] = "\x80\x02\x00\x00\x00\x00\x00\x00{}";

#define RAWB(s) s, sizeof(s) - 1

static fcase frame_cases[] = {
    /* rule 1: shorter than 8 bytes */
    { "frame_empty_null_pointer", NULL, 0, 0, 0, 0, ST_E_HEADER_TOO_SMALL, 0, NULL },
    { "frame_empty_buffer", "", 0, 0, 0, 0, ST_E_HEADER_TOO_SMALL, 0, NULL },
    { "frame_1_byte", "\x02", 1, 0, 0, 0, ST_E_HEADER_TOO_SMALL, 0, NULL },
    { "frame_4_bytes", "\x02\0\0\0", 4, 0, 0, 0, ST_E_HEADER_TOO_SMALL, 0, NULL },
    { "frame_7_bytes", "\x02\0\0\0\0\0\0", 7, 0, 0, 0, ST_E_HEADER_TOO_SMALL, 0, NULL },
    { "frame_7_zero_bytes", "\0\0\0\0\0\0\0", 7, 0, 0, 0, ST_E_HEADER_TOO_SMALL, 0, NULL },
    { "frame_7_bytes_huge_n", "\xff\xff\xff\xff\xff\xff\xff", 7, 0, 0, 0,
      ST_E_HEADER_TOO_SMALL, 0, NULL },
    /* 8 bytes pass rule 1; N = 0 then fails rule 5 at 8 + N */
    { "frame_8_bytes_n0", "\0\0\0\0\0\0\0\0", 8, 0, 0, 0, ST_E_JSON, 8, NULL },
    /* rule 3 */
    { "frame_8_bytes_n1", "\x01\0\0\0\0\0\0\0", 8, 0, 0, 0, ST_E_HEADER_LENGTH, 0, NULL },
    { "frame_n2_9_bytes", "\x02\0\0\0\0\0\0\0{", 9, 0, 0, 0, ST_E_HEADER_LENGTH, 0, NULL },
    { "frame_n3_10_bytes", "\x03\0\0\0\0\0\0\0{}", 10, 0, 0, 0, ST_E_HEADER_LENGTH, 0, NULL },
    { "frame_n_1000_10_bytes", "\xe8\x03\0\0\0\0\0\0{}", 10, 0, 0, 0, ST_E_HEADER_LENGTH, 0,
      NULL },
    { "frame_n_equal_default_cap", NULL, 10, 0, 0, 0, ST_E_HEADER_LENGTH, 0, NULL },
    /* smallest valid file, and N == size - 8 */
    { "frame_smallest_valid_10_bytes", "\x02\0\0\0\0\0\0\0{}", 10, 0, 0, 0, ST_OK, OFF_NONE,
      NULL },
    { "frame_n3_padded_valid", "\x03\0\0\0\0\0\0\0{} ", 11, 0, 0, 0, ST_OK, OFF_NONE, NULL },
    /* rule 2: checked before rule 3 */
    { "frame_n_cap_plus_1", NULL, 10, 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "frame_n_2pow32", NULL, 10, 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "frame_n_2pow63", NULL, 10, 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "frame_n_u64max_minus_7", NULL, 10, 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "frame_n_u64max", "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, 0, 0, 0,
      ST_E_HEADER_TOO_LARGE, 0, NULL },
    /* the cap option (inclusive) */
    { "cap_1_rejects_n2", "\x02\0\0\0\0\0\0\0{}", 10, 0, 1, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "cap_2_accepts_n2", "\x02\0\0\0\0\0\0\0{}", 10, 0, 2, 0, ST_OK, OFF_NONE, NULL },
    { "cap_10_rejects_n11", "\x0b\0\0\0\0\0\0\0{}         ", 19, 0, 10, 0,
      ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "cap_11_accepts_n11", "\x0b\0\0\0\0\0\0\0{}         ", 19, 0, 11, 0, ST_OK, OFF_NONE,
      NULL },
    { "cap_checked_before_length", "\x06\0\0\0\0\0\0\0{}", 10, 0, 5, 0, ST_E_HEADER_TOO_LARGE,
      0, NULL },
    { "cap_raised_above_default", NULL, 10, 0, 200000000u, 0, ST_E_HEADER_LENGTH, 0, NULL },
    { "cap_at_limit_accepts", "\x02\0\0\0\0\0\0\0{}", 10, 0, ST_MAX_HEADER_SIZE_LIMIT, 0, ST_OK,
      OFF_NONE, NULL },
    { "cap_at_limit_n_limit_is_length", NULL, 10, 0, ST_MAX_HEADER_SIZE_LIMIT, 0,
      ST_E_HEADER_LENGTH, 0, NULL },
    { "cap_at_limit_n_limit_plus_1", NULL, 10, 0, ST_MAX_HEADER_SIZE_LIMIT, 0,
      ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "cap_above_limit_invalid", "\x02\0\0\0\0\0\0\0{}", 10, 0,
      (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1, 0, ST_E_INVALID_ARGUMENT, OFF_NONE, NULL },
    { "cap_u64max_invalid", "\x02\0\0\0\0\0\0\0{}", 10, 0, UINT64_MAX, 0,
      ST_E_INVALID_ARGUMENT, OFF_NONE, NULL },
    /* option checking */
    { "opts_unknown_flag_0x4", "\x02\0\0\0\0\0\0\0{}", 10, 0x4u, 0, 0, ST_E_INVALID_ARGUMENT,
      OFF_NONE, NULL },
    { "opts_unknown_flag_0x40000000", "\x02\0\0\0\0\0\0\0{}", 10, 0x40000000u, 0, 0,
      ST_E_INVALID_ARGUMENT, OFF_NONE, NULL },
    { "opts_unknown_flag_high_bit", "\x02\0\0\0\0\0\0\0{}", 10, 0x80000000u, 0, 0,
      ST_E_INVALID_ARGUMENT, OFF_NONE, NULL },
    { "opts_struct_size_0", "\x02\0\0\0\0\0\0\0{}", 10, 0, 0, SS_ZERO, ST_E_INVALID_ARGUMENT,
      OFF_NONE, NULL },
    { "opts_struct_size_8", "\x02\0\0\0\0\0\0\0{}", 10, 0, 0, 8, ST_E_INVALID_ARGUMENT,
      OFF_NONE, NULL },
    { "opts_struct_size_15", "\x02\0\0\0\0\0\0\0{}", 10, 0, 0, 15, ST_E_INVALID_ARGUMENT,
      OFF_NONE, NULL },
    { "opts_struct_size_16_ok", "\x02\0\0\0\0\0\0\0{}", 10, 0, 0, 16, ST_OK, OFF_NONE, NULL },
    { "opts_both_leniency_flags_ok", "\x02\0\0\0\0\0\0\0{}", 10,
      ST_LENIENT_TRAILING_BYTES | ST_LENIENT_NUL_PADDING, 0, 0, ST_OK, OFF_NONE, NULL },
    { "opts_invalid_before_frame", "\x02\0\0\0", 4, 0x4u, 0, 0, ST_E_INVALID_ARGUMENT,
      OFF_NONE, NULL },
    /* section 6: wrong formats */
    { "wrong_git_lfs_pointer", RAWB(lfs), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "LFS" },
    { "wrong_git_lfs_first_line_only", RAWB("version https://git-lfs.github.com/spec/v1\n"), 0,
      0, 0, ST_E_WRONG_FORMAT, 0, "LFS" },
    { "wrong_html_doctype", RAWB(html1), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "HTML" },
    { "wrong_html_tag", RAWB(html2), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "HTML" },
    { "wrong_html_leading_ws_doctype", RAWB(html3), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "HTML" },
    { "wrong_html_leading_ws_tag", RAWB(html4), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "HTML" },
    { "wrong_zip_pytorch", RAWB(zip1), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "zip" },
    { "wrong_pickle_protocol_2", RAWB(pk2), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "pickle" },
    { "wrong_pickle_protocol_3", RAWB(pk3), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "pickle" },
    { "wrong_pickle_protocol_4", RAWB(pk4), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "pickle" },
    { "wrong_pickle_protocol_5", RAWB(pk5), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "pickle" },
    { "wrong_pickle_small_n_rule3", RAWB(pk_short), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "pickle" },
    { "wrong_gguf_v3", RAWB(gguf3), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "GGUF" },
    { "wrong_gguf_v2", RAWB(gguf2), 0, 0, 0, ST_E_WRONG_FORMAT, 0, "GGUF" },
    /* look-alikes that are not one of the named formats keep the rule's status */
    { "not_pickle_protocol_1", RAWB(pk1), 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "not_pickle_protocol_6", RAWB(pk6), 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
    { "not_lfs_other_version_line", RAWB(not_lfs), 0, 0, 0, ST_E_HEADER_TOO_LARGE, 0, NULL },
};

/* Cases whose prefix is a computed N followed by "{}". */
static const struct {
    const char *name;
    uint64_t n;
} pfx_n[] = {
    { "frame_n_equal_default_cap", 100000000u },
    { "frame_n_cap_plus_1", 100000001u },
    { "frame_n_2pow32", (uint64_t)1 << 32 },
    { "frame_n_2pow63", (uint64_t)1 << 63 },
    { "frame_n_u64max_minus_7", UINT64_MAX - 7 },
    { "cap_raised_above_default", 100000001u },
    { "cap_at_limit_n_limit_is_length", ST_MAX_HEADER_SIZE_LIMIT },
    { "cap_at_limit_n_limit_plus_1", (uint64_t)ST_MAX_HEADER_SIZE_LIMIT + 1 },
};
static char pfx_buf[COUNT(pfx_n)][10];

static void fill_prefixed_cases(void)
{
    size_t i, j, k;
    for (i = 0; i < COUNT(pfx_n); i++) {
        for (k = 0; k < 8; k++) pfx_buf[i][k] = (char)((pfx_n[i].n >> (8 * k)) & 0xff);
        pfx_buf[i][8] = '{';
        pfx_buf[i][9] = '}';
        for (j = 0; j < COUNT(frame_cases); j++)
            if (strcmp(frame_cases[j].name, pfx_n[i].name) == 0) frame_cases[j].bytes = pfx_buf[i];
    }
}

/* ------------------------------------------------------------ NUL padding cases */

/* Header bytes (explicit length, NULs allowed), data size, flags, expected
 * status and absolute offset, expected leniency bits on success. */
typedef struct ncase {
    const char *name;
    const char *hdr;
    size_t hlen;
    uint64_t data;
    uint32_t flags;
    st_status want;
    long long off;
    uint32_t lenient;
    uint64_t trailing;
} ncase;

static void run_ncase(void **state)
{
    static char dummy;
    const ncase *c = (const ncase *)*state;
    size_t n;
    unsigned char *b = stt_build(c->hdr, c->hlen, c->data, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = (st_file *)(void *)&dummy;
    st_error err;
    st_status s;
    char why[1024] = "";

    o.flags = c->flags;
    memset(&err, 0x5a, sizeof err);
    s = st_open_memory(&f, b, n, &o, &err);
    check_record(why, sizeof why, s, &err, f, c->want, c->off, NULL);
    if (s == ST_OK && f) {
        if (st_file_leniency_used(f) != c->lenient)
            stt_say(why, sizeof why, " leniency_used: want 0x%x got 0x%x;", (unsigned)c->lenient,
                (unsigned)st_file_leniency_used(f));
        if (st_file_trailing_bytes(f) != c->trailing)
            stt_say(why, sizeof why, " trailing bytes: want %llu got %llu;",
                (unsigned long long)c->trailing, (unsigned long long)st_file_trailing_bytes(f));
        if (st_file_header_size(f) != c->hlen || st_file_data_offset(f) != 8 + c->hlen)
            stt_say(why, sizeof why, " header size / data offset do not include the padding;");
    }
    if (s == ST_OK) st_close(f);
    free(b);
    if (why[0]) fail_msg("case %s:%s\n    message: %s", c->name, why, err.message);
}

#define NUL_ (ST_LENIENT_NUL_PADDING)
#define TRL_ (ST_LENIENT_TRAILING_BYTES)
#define TENSOR "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
/* header literal with its length */
#define H(s) s, sizeof(s) - 1

static ncase nul_cases[] = {
    { "nul_pad_rejected_by_default", H("{}\0\0\0\0\0\0"), 0, 0, ST_E_JSON, 10, 0, 0 },
    { "nul_pad_accepted_with_flag", H("{}\0\0\0\0\0\0"), 0, NUL_, ST_OK, 0, NUL_, 0 },
    { "nul_pad_single_nul_flag", H("{}\0"), 0, NUL_, ST_OK, 0, NUL_, 0 },
    { "nul_pad_mixed_ws_rejected", H("{} \0\n\0\t\0\r"), 0, 0, ST_E_JSON, 11, 0, 0 },
    { "nul_pad_mixed_ws_accepted", H("{} \0\n\0\t\0\r"), 0, NUL_, ST_OK, 0, NUL_, 0 },
    { "nul_pad_after_tensor_rejected", H(TENSOR "\0\0\0\0\0\0\0"), 8, 0, ST_E_JSON,
      8 + (long long)sizeof(TENSOR) - 1, 0, 0 },
    { "nul_pad_after_tensor_accepted", H(TENSOR "\0\0\0\0\0\0\0"), 8, NUL_, ST_OK, 0, NUL_, 0 },
    { "nul_pad_leading_ws_accepted", H("  \n{}\0\0"), 0, NUL_, ST_OK, 0, NUL_, 0 },
    { "nul_pad_flag_not_needed", H("{}      "), 0, NUL_, ST_OK, 0, 0, 0 },
    { "nul_pad_and_trailing_bytes", H(TENSOR "\0\0\0"), 8 + 4, NUL_ | TRL_, ST_OK, 0,
      NUL_ | TRL_, 4 },
    { "nul_pad_with_trailing_flag_only", H(TENSOR "\0\0\0"), 8, TRL_, ST_E_JSON,
      8 + (long long)sizeof(TENSOR) - 1, 0, 0 },
    /* NULs are only accepted after the object */
    { "nul_before_object_flag", H("\0{}"), 0, NUL_, ST_E_JSON, 8, 0, 0 },
    { "nul_after_leading_ws_flag", H("  \0{}"), 0, NUL_, ST_E_JSON, 10, 0, 0 },
    { "nul_inside_object_flag", H("{\0}"), 0, NUL_, ST_E_JSON, 9, 0, 0 },
    { "nul_inside_string_flag", H("{\"__metadata__\":{\"a\":\"x\0y\"}}"), 0, NUL_, ST_E_JSON,
      8 + 23, 0, 0 },
    { "nul_only_header_flag", H("\0\0\0\0"), 0, NUL_, ST_E_JSON, 8, 0, 0 },
    { "nul_inside_unclosed_object_flag", H("{\"__metadata__\":null\0\0"), 0, NUL_, ST_E_JSON,
      8 + 20, 0, 0 },
    /* after NUL padding only NUL and JSON whitespace may follow */
    { "nul_then_garbage_flag", H("{}\0\0x"), 0, NUL_, ST_E_JSON, 12, 0, 0 },
    { "nul_then_second_object_flag", H("{}\0{}"), 0, NUL_, ST_E_JSON, 11, 0, 0 },
    { "nul_then_form_feed_flag", H("{}\0\f"), 0, NUL_, ST_E_JSON, 11, 0, 0 },
    { "nul_then_garbage_default", H("{}\0\0x"), 0, 0, ST_E_JSON, 10, 0, 0 },
};



/* ------------------------------------------------------------ other tests */

/* NUL padding with a tensor: data found at 8 + N (padding included). */
static void nul_padding_tensor_data(void **state)
{
    static const char hdr[] = TENSOR "\0\0\0\0\0";
    size_t n;
    unsigned char *b = stt_build(hdr, sizeof hdr - 1, 8, &n);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    st_file *f = NULL;
    st_error err;
    st_status s;
    const st_tensor *t;
    (void)state;
    o.flags = ST_LENIENT_NUL_PADDING;
    s = st_open_memory(&f, b, n, &o, &err);
    if (s != ST_OK) fail_msg("want ST_OK got %s: %s", st_status_name(s), err.message);
    t = st_tensor_find(f, "t");
    assert_non_null(t);
    assert_int_equal(t->offset, 8 + sizeof hdr - 1);
    assert_ptr_equal(t->data, b + 8 + sizeof hdr - 1);
    assert_int_equal(st_file_leniency_used(f), ST_LENIENT_NUL_PADDING);
    st_close(f);
    free(b);
}

/* A NULL out pointer is an invalid argument; so is NULL data with size > 0. */
static void invalid_arguments(void **state)
{
    static const unsigned char min[] = { 2, 0, 0, 0, 0, 0, 0, 0, '{', '}' };
    st_file *f = NULL;
    st_error err;
    (void)state;
    memset(&err, 0x5a, sizeof err);
    assert_int_equal(st_open_memory(NULL, min, sizeof min, NULL, &err), ST_E_INVALID_ARGUMENT);
    assert_int_equal(err.code, ST_E_INVALID_ARGUMENT);
    assert_true(err.message[0] != '\0');
    memset(&err, 0x5a, sizeof err);
    assert_int_equal(st_open_memory(&f, NULL, 10, NULL, &err), ST_E_INVALID_ARGUMENT);
    assert_int_equal(err.code, ST_E_INVALID_ARGUMENT);
    assert_null(f);
    /* a NULL error record is fine */
    assert_int_equal(st_open_memory(&f, min, 7, NULL, NULL), ST_E_HEADER_TOO_SMALL);
    assert_null(f);
    assert_int_equal(st_open_memory(&f, min, sizeof min, NULL, NULL), ST_OK);
    assert_non_null(f);
    assert_int_equal(st_file_header_size(f), 2);
    assert_int_equal(st_file_data_offset(f), 10);
    assert_int_equal(st_file_data_size(f), 0);
    assert_int_equal(st_file_size(f), 10);
    assert_int_equal(st_tensor_count(f), 0);
    st_close(f);
}

/* Opens bytes through a temp file: by path and by fd, mapped and with
 * ST_OPEN_READ. The frame rules and offsets must not depend on the source. */
static void open_both_ways(const char *what, const void *bytes, size_t size, st_status want,
                           long long off, const char *kw)
{
    static char dummy;
    static const char *const how[4] = { "path", "fd", "path+READ", "fd+READ" };
    char *path = stt_write_temp(bytes, size);
    int way;

    for (way = 0; way < 4; way++) {
        st_open_options o = ST_OPEN_OPTIONS_INIT;
        st_file *f = (st_file *)(void *)&dummy;
        st_error err;
        st_status s;
        char why[1024] = "";
        int fd = -1;
        if (way >= 2) o.flags = ST_OPEN_READ;
        memset(&err, 0x5a, sizeof err);
        if (way & 1) {
            fd = open(path, O_RDONLY);
            assert_true(fd >= 0);
            s = st_open_fd(&f, fd, &o, &err);
        } else {
            s = st_open_path(&f, path, &o, &err);
        }
        check_record(why, sizeof why, s, &err, f, want, off, kw);
        if (s == ST_OK) st_close(f);
        if (fd >= 0) close(fd);
        if (why[0]) {
            stt_remove_temp(path);
            fail_msg("%s (%s):%s\n    message: %s", what, how[way], why, err.message);
        }
    }
    stt_remove_temp(path);
}

static void path_empty_file(void **state)
{
    (void)state;
    open_both_ways("path_empty_file", "", 0, ST_E_HEADER_TOO_SMALL, 0, NULL);
}

static void path_7_bytes(void **state)
{
    (void)state;
    open_both_ways("path_7_bytes", "\x02\0\0\0\0\0\0", 7, ST_E_HEADER_TOO_SMALL, 0, NULL);
}

static void path_header_length(void **state)
{
    (void)state;
    open_both_ways("path_header_length", "\x03\0\0\0\0\0\0\0{}", 10, ST_E_HEADER_LENGTH, 0,
                   NULL);
}

static void path_too_large(void **state)
{
    (void)state;
    open_both_ways("path_too_large", "\x01\xe1\xf5\x05\0\0\0\0{}", 10, ST_E_HEADER_TOO_LARGE,
                   0, NULL);
}

static void path_smallest_valid(void **state)
{
    (void)state;
    open_both_ways("path_smallest_valid", "\x02\0\0\0\0\0\0\0{}", 10, ST_OK, OFF_NONE, NULL);
}

static void path_lfs_pointer(void **state)
{
    (void)state;
    open_both_ways("path_lfs_pointer", lfs, sizeof lfs - 1, ST_E_WRONG_FORMAT, 0, "LFS");
}

static void path_html_page(void **state)
{
    (void)state;
    open_both_ways("path_html_page", html1, sizeof html1 - 1, ST_E_WRONG_FORMAT, 0, "HTML");
}

static void path_missing_file(void **state)
{
    st_file *f = NULL;
    st_error err;
    (void)state;
    memset(&err, 0x5a, sizeof err);
    assert_int_equal(st_open_path(&f, "/nonexistent/dir/model.safetensors", NULL, &err),
                     ST_E_IO);
    assert_null(f);
    assert_int_equal(err.code, ST_E_IO);
    assert_int_equal(err.sys_errno, ENOENT);
}

/* Builds a valid file whose header is `{}` padded with spaces to n bytes. */
static unsigned char *big_valid(uint64_t n, size_t *size)
{
    unsigned char *b = malloc((size_t)(8 + n));
    size_t i;
    assert_non_null(b);
    for (i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
    memset(b + 8, ' ', (size_t)n);
    b[8] = '{';
    b[9] = '}';
    *size = (size_t)(8 + n);
    return b;
}

static void open_expect(const unsigned char *b, size_t size, const st_open_options *o,
                        st_status want, long long off, const char *what)
{
    static char dummy;
    st_file *f = (st_file *)(void *)&dummy;
    st_error err;
    st_status s;
    char why[1024] = "";
    memset(&err, 0x5a, sizeof err);
    s = st_open_memory(&f, b, size, o, &err);
    check_record(why, sizeof why, s, &err, f, want, off, NULL);
    if (s == ST_OK) st_close(f);
    if (why[0]) fail_msg("%s:%s\n    message: %s", what, why, err.message);
}

/* N == 100,000,000 is allowed by default (the cap is inclusive). */
static void default_cap_inclusive_100mb(void **state)
{
    size_t size;
    unsigned char *b = big_valid(ST_DEFAULT_MAX_HEADER_SIZE, &size);
    st_open_options o = ST_OPEN_OPTIONS_INIT;
    (void)state;
    open_expect(b, size, NULL, ST_OK, OFF_NONE, "cap_default_n_100000000");
    /* and a lowered cap refuses the same file */
    o.max_header_size = ST_DEFAULT_MAX_HEADER_SIZE - 1;
    open_expect(b, size, &o, ST_E_HEADER_TOO_LARGE, 0, "cap_lowered_refuses_100mb");
    free(b);
}

/* A valid file is never reported as another format: N = 0x04034b50 makes the
 * file start with "PK\x03\x04" (zip), N = 0x280 with 0x80 0x02 (pickle). */
static void valid_zip_lookalike_accepted(void **state)
{
    size_t size;
    unsigned char *b = big_valid(0x04034b50u, &size);
    (void)state;
    assert_memory_equal(b, "PK\x03\x04", 4);
    open_expect(b, size, NULL, ST_OK, OFF_NONE, "valid_zip_lookalike");
    free(b);
}

static void valid_pickle_lookalike_accepted(void **state)
{
    size_t size;
    unsigned char *b = big_valid(0x280u, &size);
    (void)state;
    assert_int_equal(b[0], 0x80);
    assert_int_equal(b[1], 0x02);
    open_expect(b, size, NULL, ST_OK, OFF_NONE, "valid_pickle_lookalike");
    /* failing rules 6 to 9 is not a reason to call it another format */
    memcpy(b + 8, "{\"t\":1}", 7);
    open_expect(b, size, NULL, ST_E_SCHEMA, 8 + 5, "pickle_lookalike_schema_error");
    memcpy(b + 8, "{}     ", 7);
    {
        unsigned char *longer = malloc(size + 3);
        assert_non_null(longer);
        memcpy(longer, b, size);
        memset(longer + size, 0xee, 3);
        open_expect(longer, size + 3, NULL, ST_E_COVERAGE, (long long)size,
                    "pickle_lookalike_trailing_bytes");
        free(longer);
    }
    /* the same file with a JSON error fails rule 5 and looks like pickle */
    b[9] = ']';
    open_expect(b, size, NULL, ST_E_WRONG_FORMAT, 0, "invalid_pickle_lookalike_json");
    free(b);
}

/* A truncated download (data shorter than the tensors) is ST_E_COVERAGE,
 * never a wrong format; a cut inside the header is ST_E_HEADER_LENGTH. */
static void truncated_downloads(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str(TENSOR, 8, &n);
    (void)state;
    open_expect(b, n, NULL, ST_OK, OFF_NONE, "complete_download");
    /* coverage points at 8 + N + cursor: the end the tensors need */
    open_expect(b, n - 3, NULL, ST_E_COVERAGE, (long long)n, "truncated_in_data");
    open_expect(b, 8 + 10, NULL, ST_E_HEADER_LENGTH, 0, "truncated_in_header");
    free(b);
}

int main(void)
{
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(nul_padding_tensor_data),
        cmocka_unit_test(invalid_arguments),
        cmocka_unit_test(path_empty_file),
        cmocka_unit_test(path_7_bytes),
        cmocka_unit_test(path_header_length),
        cmocka_unit_test(path_too_large),
        cmocka_unit_test(path_smallest_valid),
        cmocka_unit_test(path_lfs_pointer),
        cmocka_unit_test(path_html_page),
        cmocka_unit_test(path_missing_file),
        cmocka_unit_test(default_cap_inclusive_100mb),
        cmocka_unit_test(valid_zip_lookalike_accepted),
        cmocka_unit_test(valid_pickle_lookalike_accepted),
        cmocka_unit_test(truncated_downloads),
    };
    int rc = 0;
    fill_prefixed_cases();
    rc += STT_RUN_CASES("frame", frame_cases, COUNT(frame_cases), run_fcase);
    rc += STT_RUN_CASES("nul_padding", nul_cases, COUNT(nul_cases), run_ncase);
    rc += cmocka_run_group_tests_name("frame_extra", extra, NULL, NULL);
    return rc ? 1 : 0;
}
