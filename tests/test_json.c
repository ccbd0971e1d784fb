/*
 * Rules 4 and 5 of FORMAT.md: the header is valid UTF-8, and exactly one JSON
 * object surrounded only by JSON whitespace (strict grammar, depth 128,
 * escapes decoded, lone surrogates refused).
 *
 * Table-driven: each case is a header text, the data size, the open flags,
 * the expected status and where the error must point. In header texts a '
 * stands for " (unless the case is RAW), so the JSON stays readable. The
 * offset marker `at` is searched in the (converted) header: the expected
 * offset is 8 + its position (+ adj), or, for WITHIN cases, any byte of the
 * marker (used for lexical errors inside one token, where "the byte where the
 * grammar broke" could be the token's first byte or the offending one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stt.h"

#include "cases.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Case shorthands. */
#define E(nm, h, st, mk) { .name = nm, .hdr = h, .data = 8, .want = st, .at = mk }
#define EA(nm, h, st, mk, a) { .name = nm, .hdr = h, .data = 8, .want = st, .at = mk, .adj = a }
#define EN(nm, h, st, mk, k) { .name = nm, .hdr = h, .data = 8, .want = st, .at = mk, .nth = k }
#define EW(nm, h, st, mk) { .name = nm, .hdr = h, .data = 8, .want = st, .at = mk, .opt = WITHIN }
#define EEND(nm, h) { .name = nm, .hdr = h, .data = 8, .want = ST_E_JSON, .off = OFF_END }
#define OK0(nm, h) { .name = nm, .hdr = h, .data = 0, .want = ST_OK }
#define OKF(nm, h, fn) \
    { .name = nm, .hdr = h, .data = 8, .want = ST_OK, .find = fn, .find_len = sizeof(fn) - 1 }
/* Header with embedded NUL bytes: explicit length. */
#define EL(nm, h, st, o, fl) \
    { .name = nm, .hdr = h, .hlen = sizeof(h) - 1, .data = 0, .flags = fl, .want = st, .off = o }

#define TE "{'dtype':'F32','shape':[2],'data_offsets':[0,8]}"
/* One tensor named nm (raw JSON string content). */
#define ONE(nm) "{'" nm "':" TE "}"
/* Metadata with one value (raw JSON string content). */
#define META(v) "{'__metadata__':{'k':'" v "'}}"

/* ------------------------------------------------------------ rule 4: UTF-8 */

static tcase utf8_cases[] = {
    /* overlong forms */
    E("utf8_overlong_2byte_c0af", META("\xc0\xaf"), ST_E_UTF8, "\xc0"),
    E("utf8_overlong_2byte_c1bf", META("\xc1\xbf"), ST_E_UTF8, "\xc1"),
    E("utf8_overlong_nul_c080", META("a\xc0\x80"), ST_E_UTF8, "\xc0"),
    E("utf8_overlong_3byte_e080af", META("\xe0\x80\xaf"), ST_E_UTF8, "\xe0"),
    E("utf8_overlong_3byte_e09fbf", META("\xe0\x9f\xbf"), ST_E_UTF8, "\xe0"),
    E("utf8_overlong_4byte_f08080af", META("\xf0\x80\x80\xaf"), ST_E_UTF8, "\xf0"),
    E("utf8_overlong_4byte_f08fbfbf", META("\xf0\x8f\xbf\xbf"), ST_E_UTF8, "\xf0"),
    /* encoded surrogates ED A0..BF */
    E("utf8_surrogate_d800", META("\xed\xa0\x80"), ST_E_UTF8, "\xed"),
    E("utf8_surrogate_dbff", META("\xed\xaf\xbf"), ST_E_UTF8, "\xed"),
    E("utf8_surrogate_dc00", META("\xed\xb0\x80"), ST_E_UTF8, "\xed"),
    E("utf8_surrogate_dfff", META("\xed\xbf\xbf"), ST_E_UTF8, "\xed"),
    E("utf8_surrogate_cesu8_pair", META("x\xed\xa0\xbd\xed\xb8\x80"), ST_E_UTF8, "\xed"),
    /* above U+10FFFF and bytes that never occur */
    E("utf8_above_10ffff_f4908080", META("\xf4\x90\x80\x80"), ST_E_UTF8, "\xf4"),
    E("utf8_lead_f5", META("\xf5\x80\x80\x80"), ST_E_UTF8, "\xf5"),
    E("utf8_lead_f7", META("\xf7\xbf\xbf\xbf"), ST_E_UTF8, "\xf7"),
    E("utf8_5byte_f8", META("\xf8\x88\x80\x80\x80"), ST_E_UTF8, "\xf8"),
    E("utf8_6byte_fc", META("\xfc\x84\x80\x80\x80\x80"), ST_E_UTF8, "\xfc"),
    E("utf8_byte_fe", META("\xfe"), ST_E_UTF8, "\xfe"),
    E("utf8_byte_ff", META("ab\xff"), ST_E_UTF8, "\xff"),
    /* stray continuation bytes */
    E("utf8_stray_80", META("a\x80"), ST_E_UTF8, "\x80"),
    E("utf8_stray_bf", META("\xbf"), ST_E_UTF8, "\xbf"),
    E("utf8_stray_after_2byte", META("\xc3\xa9\x80"), ST_E_UTF8, "\x80"),
    EA("utf8_stray_after_4byte", META("\xf0\x9f\x98\x80\x80"), ST_E_UTF8, "\xf0", 4),
    E("utf8_stray_outside_string", "{\x80}", ST_E_UTF8, "\x80"),
    /* truncated sequences */
    E("utf8_truncated_2of2", META("\xc3"), ST_E_UTF8, "\xc3"),
    E("utf8_truncated_2of3", META("\xe2\x82"), ST_E_UTF8, "\xe2"),
    E("utf8_truncated_3of4", META("\xf0\x9f\x98"), ST_E_UTF8, "\xf0"),
    E("utf8_truncated_then_lead", META("\xe2\xe2\x82\xac"), ST_E_UTF8, "\xe2"),
    E("utf8_truncated_surrogate_lead", META("\xed\xa0"), ST_E_UTF8, "\xed"),
    E("utf8_lead_then_non_continuation", META("\xc2\xc0"), ST_E_UTF8, "\xc2"),
    EA("utf8_truncated_at_end_of_header", "{}\xc3", ST_E_UTF8, "{}", 2),
    EA("utf8_truncated_4byte_at_end", "{} \xf0\x9f\x98", ST_E_UTF8, "{}", 3),
    /* where the bytes sit */
    E("utf8_invalid_in_trailing_padding", "{}    \xff", ST_E_UTF8, "\xff"),
    E("utf8_invalid_in_leading_padding", "  \xff{}", ST_E_UTF8, "\xff"),
    E("utf8_invalid_in_tensor_name", ONE("a\xff"), ST_E_UTF8, "\xff"),
    E("utf8_invalid_in_dtype", "{'t':{'dtype':'F3\xff','shape':[2],'data_offsets':[0,8]}}",
      ST_E_UTF8, "\xff"),
    E("utf8_invalid_in_metadata_key", "{'__metadata__':{'\xfe':'v'}}", ST_E_UTF8, "\xfe"),
    E("utf8_first_of_two_reported", META("\xc3\xa9\xfe....\xff"), ST_E_UTF8, "\xfe"),
    { .name = "utf8_invalid_after_nul_padding_lenient", .hdr = "{}\0\0\xff", .hlen = 5,
      .flags = ST_LENIENT_NUL_PADDING, .want = ST_E_UTF8, .off = 12 },
    /* valid UTF-8 boundaries are accepted and kept byte for byte */
    OKF("utf8_ok_u0080", ONE("\xc2\x80"), "\xc2\x80"),
    OKF("utf8_ok_u07ff", ONE("\xdf\xbf"), "\xdf\xbf"),
    OKF("utf8_ok_u0800", ONE("\xe0\xa0\x80"), "\xe0\xa0\x80"),
    OKF("utf8_ok_ud7ff", ONE("\xed\x9f\xbf"), "\xed\x9f\xbf"),
    OKF("utf8_ok_ue000", ONE("\xee\x80\x80"), "\xee\x80\x80"),
    OKF("utf8_ok_ufffe_noncharacter", ONE("\xef\xbf\xbe"), "\xef\xbf\xbe"),
    OKF("utf8_ok_uffff", ONE("\xef\xbf\xbf"), "\xef\xbf\xbf"),
    OKF("utf8_ok_u10000", ONE("\xf0\x90\x80\x80"), "\xf0\x90\x80\x80"),
    OKF("utf8_ok_u10ffff", ONE("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf"),
    OKF("utf8_ok_mixed_name", ONE("w\xc3\xa9ight\xe2\x82\xac\xf0\x9f\x98\x80"),
        "w\xc3\xa9ight\xe2\x82\xac\xf0\x9f\x98\x80"),
    { .name = "utf8_ok_in_metadata", .hdr = META("caf\xc3\xa9 \xe2\x82\xac"), .want = ST_OK },
};

/* ------------------------------------------------------------ rule 5: JSON */

static tcase json_cases[] = {
    /* empty, whitespace, BOM, comments */
    { .name = "json_empty_header", .hdr = "", .want = ST_E_JSON, .off = OFF_END },
    { .name = "json_whitespace_only", .hdr = " \t\r\n ", .want = ST_E_JSON, .off = OFF_END },
    E("json_bom", "\xef\xbb\xbf{}", ST_E_JSON, "\xef"),
    E("json_bom_after_space", " \xef\xbb\xbf{}", ST_E_JSON, "\xef"),
    E("json_bom_after_object", "{}\xef\xbb\xbf", ST_E_JSON, "\xef"),
    E("json_comment_block_inside", "{/* c */}", ST_E_JSON, "/"),
    E("json_comment_line_after", "{} // c", ST_E_JSON, "/"),
    E("json_comment_line_before", "// c\n{}", ST_E_JSON, "/"),
    E("json_comment_hash", "# c\n{}", ST_E_JSON, "#"),
    E("json_comment_in_entry", "{'t':{'dtype':'F32',/*x*/'shape':[2],'data_offsets':[0,8]}}",
      ST_E_JSON, "/"),
    /* whitespace that JSON does not allow */
    E("json_form_feed_before", "\f{}", ST_E_JSON, "\f"),
    E("json_vertical_tab_before", "\v{}", ST_E_JSON, "\v"),
    E("json_form_feed_after", "{}\f", ST_E_JSON, "\f"),
    E("json_nbsp_before", "\xc2\xa0{}", ST_E_JSON, "\xc2"),
    E("json_line_separator_after", "{} \xe2\x80\xa8", ST_E_JSON, "\xe2"),
    E("json_ctrl_z_after", "{}\x1a", ST_E_JSON, "\x1a"),
    E("json_form_feed_inside", "{'t':\f" TE "}", ST_E_JSON, "\f"),
    /* trailing, leading and doubled commas */
    EA("json_trailing_comma_top", "{'t':" TE ",}", ST_E_JSON, ",}", 1),
    EA("json_trailing_comma_metadata", "{'__metadata__':{'a':'b',}}", ST_E_JSON, ",}", 1),
    EA("json_trailing_comma_shape", "{'t':{'dtype':'F32','shape':[2,],'data_offsets':[0,8]}}",
       ST_E_JSON, ",]", 1),
    EA("json_trailing_comma_entry", "{'t':{'dtype':'F32','shape':[2],'data_offsets':[0,8],}}",
       ST_E_JSON, ",}", 1),
    EA("json_leading_comma_array", "{'t':{'dtype':'F32','shape':[,2],'data_offsets':[0,8]}}",
       ST_E_JSON, "[,", 1),
    EA("json_double_comma_object", "{'__metadata__':{'a':'b',,'c':'d'}}", ST_E_JSON, ",,", 1),
    EA("json_double_comma_array", "{'t':{'dtype':'F32','shape':[2],'data_offsets':[0,,8]}}",
       ST_E_JSON, ",,", 1),
    E("json_comma_only_object", "{,}", ST_E_JSON, ","),
    E("json_leading_comma_object", "{,'__metadata__':null}", ST_E_JSON, ","),
    /* missing or misplaced colons and commas */
    E("json_missing_colon", "{'__metadata__':{'a' 'b'}}", ST_E_JSON, "'b'"),
    EA("json_missing_colon_top", "{'__metadata__' {}}", ST_E_JSON, " {", 1),
    E("json_key_without_value", "{'a'}", ST_E_JSON, "}"),
    E("json_colon_without_value", "{'a':}", ST_E_JSON, "}"),
    E("json_colon_without_key", "{:'a'}", ST_E_JSON, ":"),
    EA("json_double_colon", "{'__metadata__'::null}", ST_E_JSON, "::", 1),
    E("json_comma_instead_of_colon", "{'__metadata__':{'a','b'}}", ST_E_JSON, ","),
    EA("json_colon_instead_of_comma", "{'__metadata__':{'a':'b':'c'}}", ST_E_JSON, "':'c", 1),
    E("json_missing_comma_metadata", "{'__metadata__':{'a':'b' 'c':'d'}}", ST_E_JSON, "'c'"),
    E("json_missing_comma_top", "{'t':" TE " 'u':" TE "}", ST_E_JSON, "'u'"),
    E("json_missing_comma_entry", "{'t':{'dtype':'F32' 'shape':[2],'data_offsets':[0,8]}}",
      ST_E_JSON, "'shape'"),
    EA("json_missing_comma_array", "{'t':{'dtype':'F32','shape':[2 1],'data_offsets':[0,8]}}",
       ST_E_JSON, "2 1", 2),
    /* brackets */
    E("json_array_closed_by_brace", "{'x':[}", ST_E_JSON, "}"),
    E("json_object_closed_by_bracket", "{'x':{]}", ST_E_JSON, "]"),
    E("json_top_closed_by_bracket", "{]", ST_E_JSON, "]"),
    E("json_metadata_closed_by_bracket", "{'__metadata__':{'a':'b']}", ST_E_JSON, "]"),
    /* not exactly one value */
    EN("json_second_object", "{}{}", ST_E_JSON, "{", 2),
    EN("json_second_object_after_space", "{} {}", ST_E_JSON, "{", 2),
    E("json_trailing_garbage", "{}x", ST_E_JSON, "x"),
    E("json_trailing_number", "{} 1", ST_E_JSON, "1"),
    E("json_trailing_true", "{} true", ST_E_JSON, "t"),
    E("json_trailing_string", "{} 'x'", ST_E_JSON, "'"),
    E("json_trailing_open_bracket", "{} [", ST_E_JSON, "["),
    EN("json_trailing_open_brace", "{}{", ST_E_JSON, "{", 2),
    EN("json_extra_close_brace", "{}}", ST_E_JSON, "}", 2),
    E("json_extra_close_bracket", "{}]", ST_E_JSON, "]"),
    E("json_second_value_after_tensor", "{'t':" TE "}[]", ST_E_JSON, "[]"),
    E("json_trailing_comma_after_object", "{},", ST_E_JSON, ","),
    /* NUL bytes (ST_LENIENT_NUL_PADDING off) */
    EL("json_nul_after_object", "{}\0", ST_E_JSON, 10, 0),
    EL("json_nul_before_object", "\0{}", ST_E_JSON, 8, 0),
    EL("json_nul_inside_object", "{\0}", ST_E_JSON, 9, 0),
    EL("json_nul_after_spaces", "{}  \0", ST_E_JSON, 12, 0),
    /* top level is not an object */
    E("json_top_array", "[]", ST_E_JSON, "["),
    E("json_top_array_of_object", "[{}]", ST_E_JSON, "["),
    E("json_top_array_after_ws", "  []", ST_E_JSON, "["),
    E("json_top_string", "'abc'", ST_E_JSON, "'"),
    E("json_top_number", "1", ST_E_JSON, "1"),
    E("json_top_null", "null", ST_E_JSON, "n"),
    E("json_top_true", "true", ST_E_JSON, "t"),
    E("json_top_number_then_object", "1{}", ST_E_JSON, "1"),
    E("json_top_string_then_object", "'a'{}", ST_E_JSON, "'"),
    /* unexpected end */
    EEND("json_unclosed_object", "{"),
    EEND("json_unclosed_after_key", "{'a'"),
    EEND("json_unclosed_after_colon", "{'a':"),
    EEND("json_unclosed_after_value", "{'__metadata__':null"),
    EEND("json_unclosed_after_comma", "{'__metadata__':null,"),
    EEND("json_unterminated_key", "{'abc"),
    EEND("json_unterminated_value", "{'__metadata__':{'a':'bc"),
    EEND("json_unclosed_after_tensor", "{'t':" TE),
    EEND("json_unclosed_metadata", "{'__metadata__':{'a':'b'}"),
    EEND("json_unclosed_array", "{'t':{'dtype':'F32','shape':[2"),
    EEND("json_escaped_quote_unterminated", "{'__metadata__':{'k':'\\'}}"),
    /* quoting */
    { .name = "json_single_quotes", .hdr = "{'a':'b'}", .opt = RAW, .want = ST_E_JSON,
      .at = "'" },
    E("json_unquoted_key", "{a:1}", ST_E_JSON, "a"),
    E("json_unquoted_value", "{'__metadata__':{'a':b}}", ST_E_JSON, "b}"),
    /* raw control characters inside strings */
    E("json_raw_tab_in_value", META("a\tb"), ST_E_JSON, "\t"),
    E("json_raw_lf_in_value", META("a\nb"), ST_E_JSON, "\n"),
    E("json_raw_cr_in_value", META("a\rb"), ST_E_JSON, "\r"),
    E("json_raw_01_in_value", META("a\x01" "b"), ST_E_JSON, "\x01"),
    E("json_raw_1f_in_value", META("\x1f"), ST_E_JSON, "\x1f"),
    E("json_raw_tab_in_name", ONE("a\tb"), ST_E_JSON, "\t"),
    E("json_raw_lf_in_name", ONE("\n"), ST_E_JSON, "\n"),
    E("json_raw_esc_in_metadata_key", "{'__metadata__':{'\x1b':'v'}}", ST_E_JSON, "\x1b"),
    { .name = "json_raw_nul_in_value", .hdr = META("a\0b"), .hlen = sizeof(META("a\0b")) - 1,
      .data = 8, .want = ST_E_JSON, .at = "'a", .adj = 2 },
    OKF("json_raw_del_allowed", ONE("a\x7f" "b"), "a\x7f" "b"),
    /* bad escapes (the error may point at the backslash or the bad byte) */
    EW("json_escape_x", META("\\x41"), ST_E_JSON, "\\x"),
    EW("json_escape_a", META("\\a"), ST_E_JSON, "\\a"),
    EW("json_escape_v", META("\\v"), ST_E_JSON, "\\v"),
    EW("json_escape_0", META("\\0"), ST_E_JSON, "\\0"),
    EW("json_escape_space", META("\\ x"), ST_E_JSON, "\\ "),
    EW("json_escape_capital_u", META("\\U0041"), ST_E_JSON, "\\U"),
    EW("json_escape_u_short", META("\\u12"), ST_E_JSON, "\\u12'"),
    EW("json_escape_u_empty", META("\\u"), ST_E_JSON, "\\u'"),
    EW("json_escape_u_nonhex", META("\\u12G4"), ST_E_JSON, "\\u12G"),
    EW("json_escape_u_nonhex_first", META("\\uzzzz"), ST_E_JSON, "\\uz"),
    EW("json_escape_in_name", ONE("\\q"), ST_E_JSON, "\\q"),
    EW("json_escape_raw_utf8", META("\\\xc3\xa9"), ST_E_JSON, "\\\xc3\xa9"),
    /* literals */
    EW("json_literal_tru", "{'__metadata__':tru}", ST_E_JSON, "tru}"),
    EW("json_literal_nul", "{'__metadata__':nul}", ST_E_JSON, "nul}"),
    EW("json_literal_fals", "{'t':{'x':fals}}", ST_E_JSON, "fals}"),
    EW("json_literal_True", "{'__metadata__':True}", ST_E_JSON, "T"),
    EW("json_literal_NULL", "{'__metadata__':NULL}", ST_E_JSON, "N"),
    EW("json_literal_nulll", "{'__metadata__':nulll}", ST_E_JSON, "nulll"),
    EW("json_literal_truex", "{'t':{'x':truex}}", ST_E_JSON, "truex"),
    EW("json_literal_nan", "{'t':{'x':NaN}}", ST_E_JSON, "N"),
    EW("json_literal_infinity", "{'t':{'x':Infinity}}", ST_E_JSON, "I"),
    /* invalid numbers are grammar errors */
    EW("json_number_leading_zero", "{'t':{'dtype':'F32','shape':[02],'data_offsets':[0,8]}}",
       ST_E_JSON, "02"),
    EW("json_number_double_zero", "{'t':{'dtype':'F32','shape':[00],'data_offsets':[0,0]}}",
       ST_E_JSON, "00"),
    EW("json_number_plus", "{'t':{'dtype':'F32','shape':[+2],'data_offsets':[0,8]}}",
       ST_E_JSON, "+2"),
    EW("json_number_trailing_dot", "{'t':{'dtype':'F32','shape':[2.],'data_offsets':[0,8]}}",
       ST_E_JSON, "2.]"),
    EW("json_number_leading_dot", "{'t':{'dtype':'F32','shape':[.5],'data_offsets':[0,8]}}",
       ST_E_JSON, ".5"),
    EW("json_number_minus_only", "{'t':{'dtype':'F32','shape':[-],'data_offsets':[0,8]}}",
       ST_E_JSON, "-]"),
    EW("json_number_minus_leading_zero",
       "{'t':{'dtype':'F32','shape':[-02],'data_offsets':[0,8]}}", ST_E_JSON, "-02"),
    EW("json_number_exp_empty", "{'t':{'dtype':'F32','shape':[2e],'data_offsets':[0,8]}}",
       ST_E_JSON, "2e]"),
    EW("json_number_exp_sign_only", "{'t':{'dtype':'F32','shape':[2e+],'data_offsets':[0,8]}}",
       ST_E_JSON, "2e+]"),
    EW("json_number_dot_exp", "{'t':{'dtype':'F32','shape':[2.e1],'data_offsets':[0,8]}}",
       ST_E_JSON, "2.e"),
    EW("json_number_hex", "{'t':{'dtype':'F32','shape':[0x2],'data_offsets':[0,8]}}",
       ST_E_JSON, "0x"),
    EW("json_number_underscore", "{'t':{'dtype':'F32','shape':[1_0],'data_offsets':[0,8]}}",
       ST_E_JSON, "1_"),
    EW("json_number_minus_space", "{'t':{'dtype':'F32','shape':[- 2],'data_offsets':[0,8]}}",
       ST_E_JSON, "- "),
    EW("json_number_leading_zero_offsets",
       "{'t':{'dtype':'F32','shape':[2],'data_offsets':[0,08]}}", ST_E_JSON, "08"),
    EW("json_number_in_unknown_field", "{'t':{'x':01}}", ST_E_JSON, "01"),
    EW("json_number_exp_dot", "{'t':{'x':1e1.5}}", ST_E_JSON, "1e1."),
    EW("json_number_double_minus", "{'t':{'x':--1}}", ST_E_JSON, "--"),
    EW("json_number_double_dot", "{'t':{'x':1..2}}", ST_E_JSON, "1.."),
    EW("json_number_zero_dot", "{'t':{'x':0.}}", ST_E_JSON, "0.}"),
    EW("json_number_minus_dot", "{'t':{'x':-.5}}", ST_E_JSON, "-."),
    EW("json_number_exp_no_digits_minus", "{'t':{'x':1E-}}", ST_E_JSON, "1E-}"),
    EW("json_literal_nulls", "{'t':{'x':nulls}}", ST_E_JSON, "nulls"),
    /* valid JSON numbers are fine where the value is not read */
    OKF("json_numbers_valid_in_unknown_field",
        "{'t':{'dtype':'F32','shape':[2],'data_offsets':[0,8],'x':[0,-0,0.0,-0.0,1e10,1E-10,"
        "-1.5E+3,12345678901234567890123456789.5e-100,1e400,true,false,null]}}", "t"),
    /* lone surrogate escapes (the error may point anywhere in the escape) */
    EW("json_lone_high_surrogate", ONE("\\ud800"), ST_E_JSON, "\\ud800'"),
    EW("json_lone_high_surrogate_dbff", ONE("a\\udbff"), ST_E_JSON, "\\udbff'"),
    EW("json_lone_low_surrogate", ONE("\\udc00"), ST_E_JSON, "\\udc00"),
    EW("json_lone_low_surrogate_dfff", ONE("\\uDFFFx"), ST_E_JSON, "\\uDFFF"),
    EW("json_high_then_text", ONE("\\ud800x"), ST_E_JSON, "\\ud800x"),
    EW("json_high_then_bmp_escape", ONE("\\ud800\\u0041"), ST_E_JSON, "\\ud800\\u0041"),
    EW("json_high_then_high", ONE("\\ud83d\\ud83d"), ST_E_JSON, "\\ud83d\\ud83d"),
    EW("json_high_then_newline_escape", ONE("\\ud83d\\n"), ST_E_JSON, "\\ud83d\\n"),
    EW("json_low_then_high", ONE("\\ude00\\ud83d"), ST_E_JSON, "\\ude00"),
    EW("json_lone_surrogate_metadata_value", META("\\ud800"), ST_E_JSON, "\\ud800'"),
    EW("json_lone_surrogate_metadata_key", "{'__metadata__':{'\\udc00':'v'}}", ST_E_JSON,
       "\\udc00"),
    EW("json_lone_surrogate_dtype", "{'t':{'dtype':'\\ud800','shape':[2],'data_offsets':[0,8]}}",
       ST_E_JSON, "\\ud800'"),
    /* accepted whitespace */
    OK0("json_ws_around_ok", " \t\r\n{}\n\r\t "),
    OK0("json_min_object_ok", "{}"),
    OKF("json_ws_everywhere_ok",
        "\n{ 't' : { 'dtype' : 'F32' ,\t'shape' : [ 2 ] ,\r\n'data_offsets' : [ 0 , 8 ] } }\n",
        "t"),
    OKF("json_leading_ws_padding_ok", "                                " ONE("t"), "t"),
    OKF("json_writer_space_padding_ok", ONE("t") "      ", "t"),
    /* escapes decoded in names */
    OKF("esc_quote", ONE("a\\'b"), "a\"b"),
    OKF("esc_backslash", ONE("a\\\\b"), "a\\b"),
    OKF("esc_solidus", ONE("a\\/b"), "a/b"),
    OKF("esc_b", ONE("\\b"), "\b"),
    OKF("esc_f", ONE("\\f"), "\f"),
    OKF("esc_n", ONE("x\\n"), "x\n"),
    OKF("esc_r", ONE("\\rx"), "\rx"),
    OKF("esc_t", ONE("a\\tb"), "a\tb"),
    OKF("esc_u0041", ONE("\\u0041"), "A"),
    OKF("esc_u00e9", ONE("caf\\u00e9"), "caf\xc3\xa9"),
    OKF("esc_u00E9_uppercase_hex", ONE("caf\\u00E9"), "caf\xc3\xa9"),
    OKF("esc_u0001_control", ONE("\\u0001"), "\x01"),
    OKF("esc_u001f_control", ONE("\\u001f"), "\x1f"),
    OKF("esc_u007f", ONE("\\u007f"), "\x7f"),
    OKF("esc_u0080", ONE("\\u0080"), "\xc2\x80"),
    OKF("esc_u07ff", ONE("\\u07ff"), "\xdf\xbf"),
    OKF("esc_u0800", ONE("\\u0800"), "\xe0\xa0\x80"),
    OKF("esc_u20ac", ONE("\\u20ac"), "\xe2\x82\xac"),
    OKF("esc_uffff", ONE("\\uffff"), "\xef\xbf\xbf"),
    OKF("esc_all_simple", ONE("\\'\\\\\\/\\b\\f\\n\\r\\t\\u00e9"), "\"\\/\b\f\n\r\t\xc3\xa9"),
    /* surrogate pairs */
    OKF("esc_pair_1f600", ONE("\\ud83d\\ude00"), "\xf0\x9f\x98\x80"),
    OKF("esc_pair_1f600_uppercase", ONE("\\uD83D\\uDE00"), "\xf0\x9f\x98\x80"),
    OKF("esc_pair_10000", ONE("\\ud800\\udc00"), "\xf0\x90\x80\x80"),
    OKF("esc_pair_10ffff", ONE("\\udbff\\udfff"), "\xf4\x8f\xbf\xbf"),
    OKF("esc_pair_inside_text", ONE("x\\ud83d\\ude00y\\ud83d\\ude01"),
        "x\xf0\x9f\x98\x80y\xf0\x9f\x98\x81"),
};

/* ------------------------------------------------------------ generated headers */

/* The 'x' field of a tensor entry holding k nested arrays (or objects). */
static char *nested_header(int k, int objects, size_t *open_pos_129)
{
    const char *pre = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":";
    size_t cap = strlen(pre) + (size_t)k * 8 + 16, len = 0;
    char *h = malloc(cap);
    int i;
    assert_non_null(h);
    len = (size_t)sprintf(h, "%s", pre);
    for (i = 0; i < k; i++) {
        /* total depth of this bracket is i + 3 (top object, entry, then this) */
        if (i + 3 == 129 && open_pos_129) *open_pos_129 = len;
        len += (size_t)sprintf(h + len, "%s", objects ? "{\"a\":" : "[");
    }
    len += (size_t)sprintf(h + len, "%s", objects ? "1" : "");
    for (i = 0; i < k; i++) h[len++] = objects ? '}' : ']';
    len += (size_t)sprintf(h + len, "}}");
    return h;
}

/* Takes ownership of hdr (malloc'd). */
static void run_generated(const char *name, char *hdr, uint64_t data, st_status want,
                          long long off)
{
    tcase c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.hdr = hdr;
    c.data = data;
    c.want = want;
    c.off = off;
    stt_owned_hdr = hdr;
    stt_check_case(&c);
}

/* ------------------------------------------------------------ token windows
 *
 * jsmn works in windows of at most 256 tokens and about 64 KiB, each ending
 * just after a ',' or a closing bracket (or after 4 closing brackets in a row);
 * the headers below are big enough to cross many window ends at every kind of
 * place. */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

#if defined(__MINGW32__)
__attribute__((format(__MINGW_PRINTF_FORMAT, 2, 3)))
#elif defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_add(sbuf *b, const char *fmt, ...);
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if (b->p && (size_t)k < b->cap - b->n) break;
        b->cap = b->cap * 2 + (size_t)k + 1024;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    b->n += (size_t)k;
}

static void sb_rep(sbuf *b, char ch, size_t k)
{
    while (k--) sb_add(b, "%c", ch);
}

/* n tensors t<i> of 8 bytes each (pad spaces first; pretty: whitespace around
 * every ':' and ','), opened from memory: every name must be found. */
static void windows_tensors(size_t n, size_t pad, int pretty)
{
    sbuf b = {0};
    size_t i, size = 0;
    unsigned char *file;
    st_file *f = NULL;
    st_error err;
    st_status s;
    const char *colon = pretty ? " :\n " : ":", *comma = pretty ? "\n , " : ",";
    sb_add(&b, "{");
    sb_rep(&b, ' ', pad);
    for (i = 0; i < n; i++)
        sb_add(&b, "%s\"t%zu\"%s{\"dtype\"%s\"U8\"%s\"shape\"%s[%s8%s]%s\"data_offsets\"%s[%zu%s%zu]}",
               i ? comma : "", i, colon, colon, comma, colon, pretty ? " " : "", pretty ? " " : "",
               comma, colon, 8 * i, comma, 8 * i + 8);
    sb_add(&b, "}");
    file = stt_build(b.p, b.n, 8 * n, &size);
    assert_non_null(file);
    s = st_open_memory(&f, file, size, NULL, &err);
    if (s != ST_OK) fail_msg("pad %zu pretty %d: %s", pad, pretty, err.message);
    assert_int_equal(st_tensor_count(f), n);
    for (i = 0; i < n; i += 97) {
        char nm[32];
        const st_tensor *t;
        snprintf(nm, sizeof nm, "t%zu", i);
        t = st_tensor_find(f, nm);
        assert_non_null(t);
        assert_int_equal(t->begin, 8 * i);
    }
    st_close(f);
    free(file);
    free(b.p);
}

/* The window ends fall at every offset within an entry across the pads. */
static void windows_every_boundary(void **state)
{
    size_t pad;
    (void)state;
    for (pad = 0; pad < 64; pad++) windows_tensors(1500, pad, pad & 1);
}

/* Strings longer than a window, full of the bytes a window may end after. */
static void windows_long_strings(void **state)
{
    sbuf b = {0};
    size_t size = 0, k;
    unsigned char *file;
    st_file *f = NULL;
    st_error err;
    const st_metadata_entry *e;
    const st_tensor *t;
    char *name = malloc(150001);
    (void)state;
    assert_non_null(name);
    for (k = 0; k < 150000; k++) name[k] = "],}"[k % 3];
    name[150000] = '\0';
    sb_add(&b, "{\"__metadata__\":{\"k\":\"");
    for (k = 0; k < 100000; k++) sb_add(&b, "]]]]],");
    sb_add(&b, "\"},\"%s\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", name);
    file = stt_build(b.p, b.n, 8, &size);
    assert_non_null(file);
    if (st_open_memory(&f, file, size, NULL, &err) != ST_OK) fail_msg("%s", err.message);
    e = st_metadata_find(f, "k");
    assert_non_null(e);
    assert_int_equal(e->value_len, 600000);
    assert_memory_equal(e->value, "]]]]],]]]]],", 12);
    t = st_tensor_find(f, name);
    assert_non_null(t);
    assert_int_equal(t->name_len, 150000);
    st_close(f);
    free(file);
    free(b.p);
    free(name);
}

/* Thousands of nests at the depth limit (128 with the top object, the entry
 * and the field) are valid; one level more, after them, is refused exactly
 * there. */
static void windows_nests_at_limit(void **state)
{
    int deeper;
    (void)state;
    for (deeper = 0; deeper < 2; deeper++) {
        sbuf b = {0};
        size_t k, at = 0;
        sb_add(&b, "{\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8],\"x\":[");
        for (k = 0; k < 2000; k++) {
            size_t d = deeper && k == 1999 ? 126 : 125;
            if (k) sb_add(&b, ",");
            if (d == 126) at = b.n + 125;
            sb_rep(&b, '[', d);
            sb_rep(&b, ']', d);
        }
        sb_add(&b, "]}}");
        run_generated(deeper ? "nests_then_129" : "nests_at_128", b.p, 8,
                      deeper ? ST_E_JSON : ST_OK, deeper ? (long long)(8 + at) : OFF_NONE);
    }
}

/* An error many windows in is reported at its exact offset. */
static void windows_error_far_in(void **state)
{
    sbuf b = {0};
    size_t k, at;
    (void)state;
    sb_add(&b, "{\"__metadata__\":{");
    for (k = 0; k < 20000; k++) sb_add(&b, "%s\"k%zu\":\"v\"", k ? "," : "", k);
    at = b.n + 5; /* the 't' of tru */
    sb_add(&b, ",\"x\":tru},\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}");
    run_generated("error_far_in", b.p, 8, ST_E_JSON, (long long)(8 + at));
}

/* The walk finds a trailing comma that jsmn lets through, and jsmn fails much
 * later: the first error is the one reported. */
static void windows_first_error_wins(void **state)
{
    sbuf b = {0};
    size_t k, at;
    st_error err;
    st_status s;
    (void)state;
    sb_add(&b, "{\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8],\"x\":[");
    for (k = 0; k < 30000; k++) sb_add(&b, "%s[1]", k ? "," : "");
    at = b.n;
    sb_add(&b, ",[2,]");
    for (k = 0; k < 30000; k++) sb_add(&b, ",[1]");
    sb_add(&b, ",@]}}");
    s = stt_check(b.p, 8, 0, &err);
    assert_int_equal(s, ST_E_JSON);
    assert_true(err.offset >= 8 + at && err.offset <= 8 + at + 5);
    free(b.p);
}

/* Runs of closing brackets longer than a window allows are closed between
 * jsmn's calls: nests of arrays and objects (keys in the run), whitespace
 * between the brackets, and one bracket of the wrong type at several places of
 * a long run, or one too many at the end, each reported exactly there. */
static void close_runs_header(sbuf *b, unsigned seed, int bad_nest, size_t bad_at, size_t *bad_pos)
{
    unsigned x = seed;
    int nest;
    sb_add(b, "{\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8],\"x\":[");
    for (nest = 0; nest < 300; nest++) {
        char closes[130];
        size_t d, k;
        x = x * 1103515245u + 12345u;
        d = nest == bad_nest ? 125 : 1 + (x >> 16) % 125; /* 2 + 1 + 125 = 128 levels */
        if (nest) sb_add(b, ",");
        for (k = 0; k < d; k++) {
            x = x * 1103515245u + 12345u;
            if ((x >> 16) & 1) {
                sb_add(b, "{\"k%zu\":", k);
                closes[k] = '}';
            } else {
                sb_add(b, "[");
                closes[k] = ']';
            }
        }
        sb_add(b, (x >> 20) & 1 ? "1" : "\"s\"");
        for (k = d; k-- > 0;) {
            char ch = closes[k];
            x = x * 1103515245u + 12345u;
            if (((x >> 16) & 15) == 0) sb_add(b, "%s", (x >> 20) & 1 ? " " : "\n\t ");
            if (nest == bad_nest && d - 1 - k == bad_at) {
                *bad_pos = b->n;
                ch = ch == ']' ? '}' : ']';
            }
            sb_add(b, "%c", ch);
        }
    }
    sb_add(b, "]}}");
}

static void windows_close_runs(void **state)
{
    static const size_t at[] = {0, 1, 3, 4, 5, 9, 64, 123, 124};
    size_t k;
    (void)state;
    for (k = 0; k < 4; k++) { /* valid */
        sbuf b = {0};
        close_runs_header(&b, 7u + (unsigned)k, -1, 0, NULL);
        run_generated("close_runs_valid", b.p, 8, ST_OK, OFF_NONE);
    }
    for (k = 0; k < sizeof at / sizeof at[0]; k++) { /* a wrong bracket in the run */
        sbuf b = {0};
        size_t pos = 0;
        close_runs_header(&b, 11u + (unsigned)k, 150, at[k], &pos);
        assert_true(pos > 0);
        run_generated("close_runs_wrong_bracket", b.p, 8, ST_E_JSON, (long long)(8 + pos));
    }
    { /* one closing bracket too many, after a long run */
        sbuf b = {0};
        size_t pos;
        close_runs_header(&b, 5u, -1, 0, NULL);
        pos = b.n;
        sb_add(&b, "}");
        run_generated("close_runs_one_too_many", b.p, 8, ST_E_JSON, (long long)(8 + pos));
    }
}

static void depth_128_arrays_accepted(void **state)
{
    char *h = nested_header(126, 0, NULL); /* 2 + 126 = 128 levels */
    (void)state;
    run_generated("depth_128_arrays", h, 8, ST_OK, OFF_NONE);
}

static void depth_129_arrays_rejected(void **state)
{
    size_t p = 0;
    char *h = nested_header(127, 0, &p); /* 129 levels */
    (void)state;
    run_generated("depth_129_arrays", h, 8, ST_E_JSON, (long long)(8 + p));
}

static void depth_128_objects_accepted(void **state)
{
    char *h = nested_header(126, 1, NULL);
    (void)state;
    run_generated("depth_128_objects", h, 8, ST_OK, OFF_NONE);
}

static void depth_129_objects_rejected(void **state)
{
    size_t p = 0;
    char *h = nested_header(127, 1, &p);
    (void)state;
    run_generated("depth_129_objects", h, 8, ST_E_JSON, (long long)(8 + p));
}

/* 129 levels under __metadata__: a grammar error (rule 5) before the
 * metadata rule (6) could notice that the value is not an object of strings. */
static void depth_129_in_metadata_is_json(void **state)
{
    size_t len = 0, pos129 = 0;
    char *h = malloc(64 + 2 * 200);
    int i;
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"__metadata__\":");
    for (i = 0; i < 128; i++) {
        if (i + 2 == 129) pos129 = len;
        h[len++] = '[';
    }
    for (i = 0; i < 128; i++) h[len++] = ']';
    h[len++] = '}';
    h[len] = '\0';
    run_generated("depth_129_in_metadata", h, 0, ST_E_JSON, (long long)(8 + pos129));
}

/* A huge unbalanced nest must stop at level 129, not run out of stack. */
static void depth_100000_unclosed(void **state)
{
    size_t n = 100000, i, pos129 = 0;
    char *h = malloc(n + 64);
    (void)state;
    assert_non_null(h);
    strcpy(h, "{\"__metadata__\":");
    pos129 = strlen(h) + 127; /* brackets start at level 2 */
    for (i = strlen(h); i < n; i++) h[i] = '[';
    h[n] = '\0';
    run_generated("depth_100000_unclosed", h, 0, ST_E_JSON, (long long)(8 + pos129));
}

/* The same kind of nest, closed: still refused at the 129th level. (Kept at
 * 20000 levels: the time taken grows with the square of the depth, see the
 * report; the larger nest is the unclosed one above.) */
static void depth_20000_closed(void **state)
{
    size_t k = 20000, i, len, pos129;
    char *h = malloc(2 * k + 64);
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"__metadata__\":");
    pos129 = len + 127;
    for (i = 0; i < k; i++) h[len++] = '[';
    for (i = 0; i < k; i++) h[len++] = ']';
    h[len++] = '}';
    h[len] = '\0';
    run_generated("depth_20000_closed", h, 0, ST_E_JSON, (long long)(8 + pos129));
}

/* The densest valid JSON (one value per 2 bytes) is not mistaken for an
 * unclosed nest: 200000 zeros in an unknown field. */
static void dense_values_accepted(void **state)
{
    size_t k = 200000, i, len;
    char *h = malloc(2 * k + 128);
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":[");
    for (i = 0; i < k; i++) {
        h[len++] = '0';
        h[len++] = ',';
    }
    len--; /* no trailing comma */
    len += (size_t)sprintf(h + len, "]}}");
    run_generated("dense_values_accepted", h, 8, ST_OK, OFF_NONE);
}

/* 129 levels inside "shape": the grammar rule (5) decides, not the schema (6). */
static void depth_129_in_shape_is_json(void **state)
{
    size_t len, pos129 = 0;
    char *h = malloc(1024);
    int i;
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8],\"shape\":");
    for (i = 0; i < 127; i++) {
        if (i + 3 == 129) pos129 = len;
        h[len++] = '[';
    }
    for (i = 0; i < 127; i++) h[len++] = ']';
    len += (size_t)sprintf(h + len, "}}");
    run_generated("depth_129_in_shape", h, 8, ST_E_JSON, (long long)(8 + pos129));
}

/* 128 levels under __metadata__ are valid JSON: the metadata rule then refuses
 * the array, at its first bracket. */
static void depth_128_in_metadata_is_metadata(void **state)
{
    size_t len;
    char *h = malloc(1024);
    int i;
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"__metadata__\":");
    for (i = 0; i < 127; i++) h[len++] = '[';
    for (i = 0; i < 127; i++) h[len++] = ']';
    h[len++] = '}';
    h[len] = '\0';
    run_generated("depth_128_in_metadata", h, 0, ST_E_METADATA, 8 + 16);
}

/* Mixed arrays and objects, 128 levels exactly. */
static void depth_128_mixed_accepted(void **state)
{
    size_t len = 0;
    char *h = malloc(2048);
    int i;
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":");
    for (i = 0; i < 126; i++) len += (size_t)sprintf(h + len, "%s", (i & 1) ? "{\"k\":" : "[");
    h[len++] = '1';
    for (i = 125; i >= 0; i--) h[len++] = (i & 1) ? '}' : ']';
    len += (size_t)sprintf(h + len, "}}");
    run_generated("depth_128_mixed", h, 8, ST_OK, OFF_NONE);
}

/* 4000 spaces of leading padding: accepted, and the data section still starts
 * at 8 + N. */
static void leading_padding_large(void **state)
{
    const char *tail = "{\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}";
    size_t pad = 4000, hl = pad + strlen(tail), n;
    char *h = malloc(hl + 1);
    unsigned char *b;
    st_file *f = NULL;
    const st_tensor *t;
    (void)state;
    assert_non_null(h);
    memset(h, ' ', pad);
    memcpy(h + pad, tail, strlen(tail) + 1);
    b = stt_build(h, hl, 8, &n);
    f = stt_open_ok(b, n, 0, "leading_padding_large");
    assert_int_equal(st_file_header_size(f), hl);
    assert_int_equal(st_file_data_offset(f), 8 + hl);
    t = st_tensor_find(f, "t");
    assert_non_null(t);
    assert_int_equal(t->offset, 8 + hl);
    assert_ptr_equal(t->data, b + 8 + hl);
    st_close(f);
    free(b);
    free(h);
}

/* The decoded name is the key: the escaped spelling is not a name. */
static void escaped_spelling_not_found(void **state)
{
    size_t n;
    unsigned char *b = stt_build_str(
        "{\"caf\\u00e9\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, &n);
    st_file *f = NULL;
    const st_tensor *t;
    (void)state;
    f = stt_open_ok(b, n, 0, "escaped_spelling_not_found");
    assert_null(st_tensor_find(f, "caf\\u00e9"));
    t = st_tensor_find(f, "caf\xc3\xa9");
    assert_non_null(t);
    assert_int_equal(t->name_len, 5);
    assert_string_equal(t->name, "caf\xc3\xa9");
    assert_ptr_equal(st_tensor_at(f, 0), t);
    st_close(f);
    free(b);
}

/* Escapes are decoded in metadata keys and values too (a value may hold NUL). */
static void metadata_escapes_decoded(void **state)
{
    static const char hdr[] =
        "{\"__metadata__\":{\"k\\u00e9y\":\"a\\\"b\\\\c\\/d\\n\\u0000e\\ud83d\\ude00\"}}";
    static const char want[] = "a\"b\\c/d\n\0e\xf0\x9f\x98\x80";
    size_t n;
    unsigned char *b = stt_build_str(hdr, 0, &n);
    st_file *f = NULL;
    const st_metadata_entry *m;
    (void)state;
    f = stt_open_ok(b, n, 0, "metadata_escapes_decoded");
    m = st_metadata_find(f, "k\xc3\xa9y");
    assert_non_null(m);
    assert_int_equal(m->key_len, 4);
    assert_int_equal(m->value_len, sizeof want - 1);
    assert_memory_equal(m->value, want, sizeof want - 1);
    assert_int_equal(m->value[sizeof want - 1], '\0');
    st_close(f);
    free(b);
}

/* The UTF-8 pass tells the walk whether any byte below 0x20 or any backslash
 * occurs (then strings are checked one by one) in 16-byte, 8-byte and single
 * steps. Each such byte, at every position of a name and at 16 alignments, must
 * still be found: a raw control character is refused at its own offset, an
 * escape is decoded. */
static void special_bytes_at_every_position(void **state)
{
    enum { NAME = 40 };
    int shift, p, kind;
    (void)state;
    for (shift = 0; shift < 16; shift++) {
        for (p = 0; p < NAME; p++) {
            for (kind = 0; kind < 5; kind++) {
                char hdr[256], name[NAME + 2], want[NAME + 1];
                size_t n, hl;
                unsigned char *b;
                st_file *f = NULL;
                st_error err;
                st_status s;
                int k;
                for (k = 0; k < NAME; k++) name[k] = want[k] = (char)('a' + k % 26);
                name[NAME] = want[NAME] = '\0';
                if (kind == 0) name[p] = '\x01';
                else if (kind == 1) name[p] = '\t';
                else if (kind == 3 || kind == 4) {
                    /* the special byte(s) right before a non-ASCII character:
                     * the last bytes of an ASCII run go one at a time */
                    int q = p < NAME - 4 ? p : NAME - 4;
                    if (kind == 3) {
                        name[q] = '\\';
                        name[q + 1] = 'n';
                        memcpy(name + q + 2, "\xc3\xa9", 2);
                        want[q] = '\n';
                        memcpy(want + q + 1, "\xc3\xa9", 2);
                        memmove(want + q + 3, want + q + 4, (size_t)(NAME - q - 3));
                    } else {
                        name[q + 1] = '\x02';
                        memcpy(name + q + 2, "\xc3\xa9", 2);
                    }
                } else {
                    /* a two-byte escape in place of two letters (one at the end) */
                    int q = p < NAME - 1 ? p : NAME - 2;
                    name[q] = '\\';
                    name[q + 1] = 'n';
                    want[q] = '\n';
                    memmove(want + q + 1, want + q + 2, (size_t)(NAME - q - 1));
                }
                hl = (size_t)snprintf(hdr, sizeof hdr,
                                      "{\"__metadata__\":{\"k\":\"%.*s\"},\"%s\":"
                                      "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                                      shift, "0123456789abcdef", name);
                b = stt_build_str(hdr, 8, &n);
                s = st_open_memory(&f, b, n, NULL, &err);
                if (kind == 0 || kind == 1 || kind == 4) {
                    const char bad = kind == 0 ? '\x01' : kind == 1 ? '\t' : '\x02';
                    size_t at = (size_t)(strchr(hdr, bad) - hdr);
                    if (s != ST_E_JSON || err.offset != 8 + (uint64_t)at) {
                        print_error("shift %d, byte 0x%02X at name position %d: status %d at "
                                    "offset %llu, want ST_E_JSON at %llu (%s)\n",
                                    shift, (unsigned)(unsigned char)bad, p, (int)s,
                                    (unsigned long long)err.offset,
                                    (unsigned long long)(8 + at), err.message);
                        fail();
                    }
                } else {
                    if (s != ST_OK || !st_tensor_find(f, want)) {
                        print_error("shift %d, escape at name position %d: %s\n", shift, p,
                                    s == ST_OK ? "decoded name not found" : err.message);
                        fail();
                    }
                }
                st_close(f);
                free(b);
                (void)hl;
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(windows_every_boundary),
        cmocka_unit_test(windows_long_strings),
        cmocka_unit_test(windows_nests_at_limit),
        cmocka_unit_test(windows_error_far_in),
        cmocka_unit_test(windows_first_error_wins),
        cmocka_unit_test(windows_close_runs),
        cmocka_unit_test(depth_128_arrays_accepted),
        cmocka_unit_test(depth_129_arrays_rejected),
        cmocka_unit_test(depth_128_objects_accepted),
        cmocka_unit_test(depth_129_objects_rejected),
        cmocka_unit_test(depth_129_in_metadata_is_json),
        cmocka_unit_test(depth_100000_unclosed),
        cmocka_unit_test(depth_128_mixed_accepted),
        cmocka_unit_test(depth_20000_closed),
        cmocka_unit_test(dense_values_accepted),
        cmocka_unit_test(depth_129_in_shape_is_json),
        cmocka_unit_test(depth_128_in_metadata_is_metadata),
        cmocka_unit_test(leading_padding_large),
        cmocka_unit_test(escaped_spelling_not_found),
        cmocka_unit_test(metadata_escapes_decoded),
        cmocka_unit_test(special_bytes_at_every_position),
    };
    int rc = 0;
    rc += stt_run_table("utf8", utf8_cases, COUNT(utf8_cases));
    rc += stt_run_table("json", json_cases, COUNT(json_cases));
    rc += cmocka_run_group_tests_name("json_generated", extra, NULL, NULL);
    return rc ? 1 : 0;
}
