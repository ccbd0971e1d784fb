/*
 * Rule 6 of FORMAT.md (header schema, section 2) and the stricter-than-reference
 * rules of section 5: wrong shapes and types, number forms, dtypes, __metadata__,
 * duplicate keys at any level (compared after unescaping), NUL in names,
 * serde quirks, unknown fields, and "first failure decides" across rules.
 *
 * Table-driven: in header texts a ' stands for " (see test_json.c for the
 * runner's conventions). The offset marker `at` + adj gives the expected
 * absolute offset (8 + position in the header); for strings that is the
 * opening quote, for a duplicate the second key's quote.
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

/* Case shorthands. tn is the tensor err.tensor must name (NULL: unchecked). */
#define S(nm, h, st, mk, a, tn) \
    { .name = nm, .hdr = h, .data = 8, .want = st, .at = mk, .adj = a, .tensor = tn }
#define SN(nm, h, st, mk, k, tn) \
    { .name = nm, .hdr = h, .data = 8, .want = st, .at = mk, .nth = k, .tensor = tn }
#define SW(nm, h, mk) { .name = nm, .hdr = h, .data = 8, .want = ST_E_JSON, .at = mk, .opt = WITHIN }
#define OKD(nm, h, d) { .name = nm, .hdr = h, .data = d, .want = ST_OK }
#define OKF(nm, h, d, fn) \
    { .name = nm, .hdr = h, .data = d, .want = ST_OK, .find = fn, .find_len = sizeof(fn) - 1 }

#define ENT(dt, sh, off) "{'dtype':" dt ",'shape':" sh ",'data_offsets':" off "}"
#define TE ENT("'F32'", "[2]", "[0,8]")
#define TE2 ENT("'F32'", "[2]", "[8,16]")
#define ONE(e) "{'t':" e "}"
/* Entry of tensor t with one extra (unknown) field after the required ones. */
#define ENTX(x) "{'t':{'dtype':'F32','shape':[2],'data_offsets':[0,8]," x "}}"

/* Error at the value of field f of tensor t's entry. */
#define SV(nm, h, st, f) S(nm, h, st, "'" f "':", (int)sizeof("'" f "':") - 1, "t")
/* Error at tensor t's entry value. */
#define SE(nm, h) S(nm, h, ST_E_SCHEMA, "'t':", 4, "t")
/* Schema error at the first shape element / data_offsets BEGIN / END. */
#define SSH(nm, sh) S(nm, ONE(ENT("'F32'", sh, "[0,8]")), ST_E_SCHEMA, "'shape':[", 9, "t")
#define SOB(nm, b) \
    S(nm, ONE(ENT("'F32'", "[2]", "[" b ",8]")), ST_E_SCHEMA, "'data_offsets':[", 16, "t")
#define SOE(nm, e) \
    S(nm, ONE(ENT("'F32'", "[2]", "[0," e "]")), ST_E_SCHEMA, "'data_offsets':[0,", 18, "t")
/* Unknown dtype (a string that is not one of the 22 names). */
#define SDT(nm, dt) S(nm, ONE(ENT(dt, "[2]", "[0,8]")), ST_E_DTYPE, "'dtype':", 8, "t")
/* __metadata__ errors: at its value, or at the value of key k inside it. */
#define SM(nm, h) S(nm, h, ST_E_METADATA, "'__metadata__':", 15, T_NONE)
#define SMK(nm, h, k) S(nm, h, ST_E_METADATA, "'" k "':", (int)sizeof("'" k "':") - 1, T_NONE)

/* ------------------------------------------------------------ rule 6: entries */

static tcase entry_cases[] = {
    /* an entry that is not an object */
    SE("entry_number", "{'t':1}"),
    SE("entry_negative_number", "{'t':-1}"),
    SE("entry_float", "{'t':1.5}"),
    SE("entry_string", "{'t':'F32'}"),
    SE("entry_null", "{'t':null}"),
    SE("entry_true", "{'t':true}"),
    SE("entry_false", "{'t':false}"),
    SE("entry_empty_array", "{'t':[]}"),
    SE("entry_serde_array", "{'t':['F32',[2],[0,8]]}"),
    S("entry_serde_array_second_tensor", "{'a':" TE ",'b':['F32',[2],[8,16]]}", ST_E_SCHEMA,
      "'b':", 4, "b"),
    /* missing fields: the error points at the entry object */
    SE("missing_dtype", ONE("{'shape':[2],'data_offsets':[0,8]}")),
    SE("missing_shape", ONE("{'dtype':'F32','data_offsets':[0,8]}")),
    SE("missing_data_offsets", ONE("{'dtype':'F32','shape':[2]}")),
    SE("missing_all_fields", ONE("{}")),
    SE("missing_all_but_unknown", ONE("{'x':1}")),
    SE("missing_dtype_field_names_case_sensitive",
       ONE("{'Dtype':'F32','shape':[2],'data_offsets':[0,8]}")),
    SE("missing_dtype_in_second_of_two_is_t", "{'a':" TE ",'t':{'shape':[2],'data_offsets':[8,16]}}"),
    /* duplicate fields: the second key's quote */
    SN("dup_field_dtype_same", ONE("{'dtype':'F32','dtype':'F32','shape':[2],'data_offsets':[0,8]}"),
       ST_E_DUPLICATE, "'dtype'", 2, "t"),
    SN("dup_field_dtype_different",
       ONE("{'dtype':'F32','shape':[2],'dtype':'I32','data_offsets':[0,8]}"), ST_E_DUPLICATE,
       "'dtype'", 2, "t"),
    SN("dup_field_shape", ONE("{'dtype':'F32','shape':[2],'shape':[2],'data_offsets':[0,8]}"),
       ST_E_DUPLICATE, "'shape'", 2, "t"),
    SN("dup_field_data_offsets",
       ONE("{'dtype':'F32','shape':[2],'data_offsets':[0,8],'data_offsets':[0,8]}"),
       ST_E_DUPLICATE, "'data_offsets'", 2, "t"),
    S("dup_field_escaped_dtype",
      ONE("{'dtype':'F32','\\u0064type':'F32','shape':[2],'data_offsets':[0,8]}"),
      ST_E_DUPLICATE, "'\\u0064type'", 0, "t"),
    SN("dup_field_unknown", ENTX("'x':1,'x':2"), ST_E_DUPLICATE, "'x'", 2, "t"),
    /* dtype of the wrong JSON type */
    SV("dtype_number", ONE(ENT("1", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    SV("dtype_float", ONE(ENT("1.5", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    SV("dtype_null", ONE(ENT("null", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    SV("dtype_true", ONE(ENT("true", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    SV("dtype_array", ONE(ENT("['F32']", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    SV("dtype_serde_object", ONE(ENT("{'F32':null}", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    SV("dtype_empty_object", ONE(ENT("{}", "[2]", "[0,8]")), ST_E_SCHEMA, "dtype"),
    /* shape of the wrong JSON type */
    SV("shape_string", ONE(ENT("'F32'", "'2'", "[0,8]")), ST_E_SCHEMA, "shape"),
    SV("shape_number", ONE(ENT("'F32'", "2", "[0,8]")), ST_E_SCHEMA, "shape"),
    SV("shape_null", ONE(ENT("'F32'", "null", "[0,8]")), ST_E_SCHEMA, "shape"),
    SV("shape_true", ONE(ENT("'F32'", "true", "[0,8]")), ST_E_SCHEMA, "shape"),
    SV("shape_object", ONE(ENT("'F32'", "{'0':2}", "[0,8]")), ST_E_SCHEMA, "shape"),
    SSH("shape_elem_string", "['2']"),
    SSH("shape_elem_null", "[null]"),
    SSH("shape_elem_true", "[true]"),
    SSH("shape_elem_false", "[false]"),
    SSH("shape_elem_array", "[[2]]"),
    SSH("shape_elem_object", "[{}]"),
    S("shape_second_elem_string", ONE(ENT("'F32'", "[2,'x']", "[0,8]")), ST_E_SCHEMA, ",'x'", 1,
      "t"),
    /* data_offsets of the wrong JSON type or length */
    SV("offsets_string", ONE(ENT("'F32'", "[2]", "'0,8'")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_number", ONE(ENT("'F32'", "[2]", "8")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_null", ONE(ENT("'F32'", "[2]", "null")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_object", ONE(ENT("'F32'", "[2]", "{'0':8}")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_true", ONE(ENT("'F32'", "[2]", "true")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_empty", ONE(ENT("'F32'", "[2]", "[]")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_one", ONE(ENT("'F32'", "[2]", "[8]")), ST_E_SCHEMA, "data_offsets"),
    SV("offsets_three", ONE(ENT("'F32'", "[2]", "[0,8,8]")), ST_E_SCHEMA, "data_offsets"),
    SOB("offsets_begin_string", "'0'"),
    SOB("offsets_begin_null", "null"),
    SOB("offsets_begin_array", "[0]"),
    SOE("offsets_end_string", "'8'"),
    SOE("offsets_end_true", "true"),
    SOE("offsets_end_object", "{}"),
    /* numbers (FORMAT.md section 2): JSON numbers that are not integers in
     * 0..2^64-1 are schema errors; invalid JSON numbers are grammar errors */
    SSH("num_shape_2.0", "[2.0]"),
    SSH("num_shape_2e0", "[2e0]"),
    SSH("num_shape_2E0", "[2E0]"),
    SSH("num_shape_2e+0", "[2e+0]"),
    SSH("num_shape_2e-0", "[2e-0]"),
    SSH("num_shape_0.2e1", "[0.2e1]"),
    SSH("num_shape_20e-1", "[20e-1]"),
    SSH("num_shape_2.5", "[2.5]"),
    SSH("num_shape_minus_2", "[-2]"),
    SSH("num_shape_minus_0", "[-0]"),
    SSH("num_shape_minus_0.0", "[-0.0]"),
    SSH("num_shape_2pow64", "[18446744073709551616]"),
    SSH("num_shape_2pow64_plus_1", "[18446744073709551617]"),
    SSH("num_shape_20_digits_big", "[99999999999999999999]"),
    SSH("num_shape_30_digits", "[100000000000000000000000000002]"),
    SSH("num_shape_exp_huge", "[1e400]"),
    SOB("num_begin_minus_0", "-0"),
    SOB("num_begin_0.0", "0.0"),
    SOB("num_begin_0e0", "0e0"),
    SOB("num_begin_minus_1", "-1"),
    SOE("num_end_8.0", "8.0"),
    SOE("num_end_8e0", "8e0"),
    SOE("num_end_0.8e1", "0.8e1"),
    SOE("num_end_minus_8", "-8"),
    SOE("num_end_2pow64", "18446744073709551616"),
    SOE("num_end_2pow65", "36893488147419103232"),
    SW("num_shape_01_is_grammar", ONE(ENT("'F32'", "[02]", "[0,8]")), "02"),
    SW("num_shape_plus_1_is_grammar", ONE(ENT("'F32'", "[+2]", "[0,8]")), "+2"),
    SW("num_end_plus_is_grammar", ONE(ENT("'F32'", "[2]", "[0,+8]")), "+8"),
    SW("num_begin_01_is_grammar", ONE(ENT("'F32'", "[2]", "[00,8]")), "00"),
    /* the largest integer parses: the next rules then see it */
    S("num_shape_u64max_parses", ONE(ENT("'U8'", "[18446744073709551615]", "[0,8]")),
      ST_E_OVERFLOW, "'shape':", 8, "t"),
    S("num_end_u64max_parses", ONE(ENT("'F32'", "[2]", "[0,18446744073709551615]")),
      ST_E_SIZE_MISMATCH, "'data_offsets':", 15, "t"),
    S("num_begin_u64max_parses",
      ONE(ENT("'F32'", "[0]", "[18446744073709551615,18446744073709551615]")), ST_E_OFFSETS,
      "'data_offsets':", 15, "t"),
    /* valid number forms */
    OKF("num_ok_spaces_in_arrays", ONE(ENT("'F32'", "[ 2 , 1 ]", "[ 0 , 8 ]")), 8, "t"),
    OKF("num_ok_zero_dim", ONE(ENT("'F32'", "[0]", "[0,0]")), 0, "t"),
    OKF("num_ok_scalar", ONE(ENT("'F32'", "[]", "[0,4]")), 4, "t"),
    OKF("num_ok_big_dims_with_zero", ONE(ENT("'U8'", "[4294967296,0,18446744073709551615]", "[0,0]")),
        0, "t"),
    /* unknown dtypes: a string that is not one of the 22 names (case-sensitive) */
    SDT("dtype_lowercase_f32", "'f32'"),
    SDT("dtype_lowercase_bf16", "'bf16'"),
    SDT("dtype_mixed_case_Bf16", "'Bf16'"),
    SDT("dtype_lowercase_bool", "'bool'"),
    SDT("dtype_Float32", "'Float32'"),
    SDT("dtype_FP32", "'FP32'"),
    SDT("dtype_trailing_space", "'F32 '"),
    SDT("dtype_leading_space", "' F32'"),
    SDT("dtype_empty_string", "''"),
    SDT("dtype_F8_E4M3FN", "'F8_E4M3FN'"),
    SDT("dtype_F8_E5M2fnuz", "'F8_E5M2fnuz'"),
    SDT("dtype_F6_e2m3", "'F6_e2m3'"),
    SDT("dtype_U128", "'U128'"),
    SDT("dtype_C128", "'C128'"),
    SDT("dtype_I4", "'I4'"),
    SDT("dtype_escaped_nul_suffix", "'F32\\u0000'"),
    SDT("dtype_tab_escape", "'F\\t32'"),
    OKF("dtype_escaped_F32_ok", ONE(ENT("'\\u0046\\u0033\\u0032'", "[2]", "[0,8]")), 8, "t"),
    OKF("dtype_partly_escaped_ok", ONE(ENT("'F\\u00332'", "[2]", "[0,8]")), 8, "t"),
    /* the error record carries the decoded name */
    S("error_names_decoded_tensor", "{'caf\\u00e9':" ENT("1", "[2]", "[0,8]") "}", ST_E_SCHEMA,
      "'dtype':", 8, "caf\xc3\xa9"),
    S("error_names_empty_tensor", "{'':1}", ST_E_SCHEMA, "'':", 3, ""),
    /* unknown extra fields: ignored, but still valid JSON without duplicates */
    OKF("extra_number", ENTX("'x':1"), 8, "t"),
    OKF("extra_string", ENTX("'x':'y'"), 8, "t"),
    OKF("extra_null", ENTX("'x':null"), 8, "t"),
    OKF("extra_bool", ENTX("'x':false"), 8, "t"),
    OKF("extra_float_exp", ENTX("'x':-1.5e-3"), 8, "t"),
    OKF("extra_negative", ENTX("'x':-1"), 8, "t"),
    OKF("extra_huge_integer", ENTX("'x':123456789012345678901234567890"), 8, "t"),
    OKF("extra_nested", ENTX("'x':{'a':[1,{'b':null,'c':[]}],'d':{}},'y':[]"), 8, "t"),
    OKF("extra_named_like_a_field", ENTX("'Dtype':'nonsense','DATA_OFFSETS':-1"), 8, "t"),
    OKF("extra_named_metadata", ENTX("'__metadata__':1"), 8, "t"),
    OKF("extra_before_fields", ONE("{'x':{},'dtype':'F32','shape':[2],'data_offsets':[0,8]}"), 8,
        "t"),
    OKF("extra_same_key_in_sibling_objects", ENTX("'x':{'a':1},'y':{'a':1}"), 8, "t"),
    S("extra_bad_trailing_comma", ENTX("'x':[1,]"), ST_E_JSON, ",]", 1, T_NONE),
    S("extra_bad_trailing_comma_object", ENTX("'x':{'a':1,}"), ST_E_JSON, ",}", 1, T_NONE),
    S("extra_bad_missing_colon", ENTX("'x':{'a' 1}"), ST_E_JSON, "' 1", 2, T_NONE),
    S("extra_bad_missing_comma", ENTX("'x':[1 2]"), ST_E_JSON, " 2]", 1, T_NONE),
    S("extra_bad_raw_tab", ENTX("'x':'a\tb'"), ST_E_JSON, "\t", 0, T_NONE),
    SW("extra_bad_number", ENTX("'x':01"), "01"),
    SW("extra_bad_literal", ENTX("'x':tru"), "tru}"),
    SW("extra_bad_escape", ENTX("'x':'\\x'"), "\\x"),
    SW("extra_bad_lone_surrogate", ENTX("'x':'\\ud800'"), "\\ud800'"),
    SN("extra_dup_key", ENTX("'x':{'a':1,'a':2}"), ST_E_DUPLICATE, "'a'", 2, "t"),
    SN("extra_dup_key_nested", ENTX("'x':{'y':{'a':1,'a':1}}"), ST_E_DUPLICATE, "'a'", 2, "t"),
    SN("extra_dup_key_in_array", ENTX("'x':[{'a':1,'a':1}]"), ST_E_DUPLICATE, "'a'", 2, "t"),
    S("extra_dup_key_escaped", ENTX("'x':{'a':1,'\\u0061':2}"), ST_E_DUPLICATE, "'\\u0061'", 0,
      "t"),
};

/* ------------------------------------------------------------ metadata, names, keys */

static tcase key_cases[] = {
    /* __metadata__ forms */
    OKD("meta_null_ok", "{'__metadata__':null}", 0),
    OKD("meta_empty_ok", "{'__metadata__':{}}", 0),
    OKD("meta_strings_ok", "{'__metadata__':{'a':'b','c':'','d':'\\u0000'}}", 0),
    OKF("meta_before_tensor_ok", "{'__metadata__':{'a':'b'},'t':" TE "}", 8, "t"),
    OKF("meta_after_tensor_ok", "{'t':" TE ",'__metadata__':null}", 8, "t"),
    OKF("meta_between_tensors_ok", "{'a':" TE ",'__metadata__':{},'t':" TE2 "}", 16, "t"),
    OKD("meta_escaped_reserved_key_ok", "{'\\u005f_metadata__':{'k':'v'}}", 0),
    SM("meta_string", "{'__metadata__':'x'}"),
    SM("meta_empty_string", "{'__metadata__':''}"),
    SM("meta_number", "{'__metadata__':1}"),
    SM("meta_negative", "{'__metadata__':-1}"),
    SM("meta_float", "{'__metadata__':1.5}"),
    SM("meta_true", "{'__metadata__':true}"),
    SM("meta_false", "{'__metadata__':false}"),
    SM("meta_empty_array", "{'__metadata__':[]}"),
    SM("meta_array_of_strings", "{'__metadata__':['a','b']}"),
    SMK("meta_value_number", "{'__metadata__':{'a':1}}", "a"),
    SMK("meta_value_null", "{'__metadata__':{'a':null}}", "a"),
    SMK("meta_value_true", "{'__metadata__':{'a':true}}", "a"),
    SMK("meta_value_object", "{'__metadata__':{'a':{}}}", "a"),
    SMK("meta_value_nested_object", "{'__metadata__':{'a':{'b':'c'}}}", "a"),
    SMK("meta_value_array", "{'__metadata__':{'a':['x']}}", "a"),
    SMK("meta_second_value_number", "{'__metadata__':{'a':'ok','b':2}}", "b"),
    S("meta_escaped_reserved_key_string", "{'\\u005f_metadata__':'x'}", ST_E_METADATA, "__':", 4,
      T_NONE),
    S("meta_holding_a_tensor_entry", "{'__metadata__':" TE "}", ST_E_METADATA, "'shape':", 8,
      T_NONE),
    SN("meta_dup_key", "{'__metadata__':{'a':'1','a':'2'}}", ST_E_DUPLICATE, "'a'", 2, T_NONE),
    /* keys enter the index a few keys late: a duplicate still wins over any
     * error after it, and an earlier error over a later duplicate */
    SN("meta_dup_before_bad_value", "{'__metadata__':{'a':'1','a':2}}", ST_E_DUPLICATE, "'a'", 2,
       T_NONE),
    SN("meta_dup_before_later_bad_value", "{'__metadata__':{'a':'1','b':'2','a':'3','c':4}}",
       ST_E_DUPLICATE, "'a'", 2, T_NONE),
    SN("meta_dup_far_before_bad_value",
       "{'__metadata__':{'a':'1','b':'1','c':'1','d':'1','e':'1','f':'1','g':'1','h':'1','i':'1',"
       "'j':'1','k':'1','a':'1','l':'1','m':'1','n':'1','o':'1','p':'1','q':'1','r':'1','s':[]}}",
       ST_E_DUPLICATE, "'a'", 2, T_NONE),
    SMK("meta_bad_value_before_dup", "{'__metadata__':{'a':'1','b':5,'a':'3'}}", "b"),
    S("meta_dup_key_escaped", "{'__metadata__':{'a':'1','\\u0061':'2'}}", ST_E_DUPLICATE,
      "'\\u0061'", 0, T_NONE),
    SN("meta_dup_null_null", "{'__metadata__':null,'__metadata__':null}", ST_E_DUPLICATE,
       "'__metadata__'", 2, T_NONE),
    SN("meta_dup_null_object", "{'__metadata__':null,'__metadata__':{}}", ST_E_DUPLICATE,
       "'__metadata__'", 2, T_NONE),
    SN("meta_dup_around_tensor", "{'__metadata__':{'a':'b'},'t':" TE ",'__metadata__':{'a':'b'}}",
       ST_E_DUPLICATE, "'__metadata__'", 2, T_NONE),
    S("meta_dup_escaped", "{'__metadata__':{},'\\u005f_metadata__':{}}", ST_E_DUPLICATE,
      "'\\u005f", 0, T_NONE),
    /* keys that are not the reserved one are tensor names */
    S("meta_uppercase_is_a_tensor", "{'__METADATA__':'x'}", ST_E_SCHEMA, "'__METADATA__':", 15,
      "__METADATA__"),
    S("meta_short_is_a_tensor", "{'__metadata':{}}", ST_E_SCHEMA, "'__metadata':", 13,
      "__metadata"),
    /* duplicate tensor names, compared after unescaping */
    SN("dup_tensor_plain", "{'a':" TE ",'a':" TE "}", ST_E_DUPLICATE, "'a'", 2, NULL),
    S("dup_tensor_escaped_second", "{'a':" TE ",'\\u0061':" TE "}", ST_E_DUPLICATE, "'\\u0061'",
      0, NULL),
    S("dup_tensor_escaped_first", "{'\\u0061':" TE ",'a':" TE "}", ST_E_DUPLICATE, "'a'", 0,
      NULL),
    S("dup_tensor_utf8_vs_escape", "{'\xc3\xa9':" TE ",'\\u00e9':" TE "}", ST_E_DUPLICATE,
      "'\\u00e9'", 0, NULL),
    S("dup_tensor_pair_vs_utf8", "{'\\ud83d\\ude00':" TE ",'\xf0\x9f\x98\x80':" TE "}",
      ST_E_DUPLICATE, "'\xf0", 0, NULL),
    S("dup_tensor_solidus", "{'a/b':" TE ",'a\\/b':" TE "}", ST_E_DUPLICATE, "'a\\/b'", 0, NULL),
    SN("dup_tensor_third", "{'a':" TE ",'b':" TE2 ",'a':" ENT("'F32'", "[2]", "[16,24]") "}",
       ST_E_DUPLICATE, "'a'", 2, NULL),
    S("dup_tensor_empty_names", "{'':" TE ",'':" TE "}", ST_E_DUPLICATE, ",'':", 1, NULL),
    /* the duplicate name comes before anything inside its entry, so it wins
     * over the entry's own schema errors (but not over a JSON error) */
    SN("dup_tensor_bad_dtype", "{'a':" TE ",'a':" ENT("'X'", "[2]", "[0,8]") "}",
       ST_E_DUPLICATE, "'a'", 2, "a"),
    SN("dup_tensor_not_object", "{'a':" TE ",'a':5}", ST_E_DUPLICATE, "'a'", 2, "a"),
    SN("dup_tensor_missing_field", "{'a':" TE ",'a':{'dtype':'F32'}}", ST_E_DUPLICATE, "'a'", 2,
       "a"),
    SN("dup_tensor_dup_field", "{'a':" TE ",'a':{'dtype':'F32','dtype':'F32'}}", ST_E_DUPLICATE,
       "'a'", 2, "a"),
    SN("dup_tensor_bad_offsets", "{'a':" TE ",'a':" ENT("'F32'", "[2]", "[0,9]") "}",
       ST_E_DUPLICATE, "'a'", 2, "a"),
    SN("dup_tensor_then_later_error", "{'a':" TE ",'a':" TE ",'b':5}", ST_E_DUPLICATE, "'a'", 2,
       "a"),
    S("dup_tensor_json_error_inside", "{'a':" TE ",'a':{'dtype':'F32',}}", ST_E_JSON, ",}", 1,
      NULL),
    OKF("names_case_differs_ok", "{'a':" TE ",'A':" TE2 "}", 16, "A"),
    OKF("names_trailing_space_differs_ok", "{'a':" TE ",'a ':" TE2 "}", 16, "a "),
    OKF("names_escape_decoded_ok", "{'\\u0061':" TE "}", 8, "a"),
    /* NUL inside a name */
    S("name_nul_middle", "{'a\\u0000b':" TE "}", ST_E_NAME, "'a", 0, NULL),
    S("name_nul_only", "{'\\u0000':" TE "}", ST_E_NAME, "'\\u", 0, NULL),
    S("name_nul_end", "{'ab\\u0000':" TE "}", ST_E_NAME, "'ab", 0, NULL),
    S("name_nul_second_tensor", "{'a':" TE ",'b\\u0000':" TE2 "}", ST_E_NAME, "'b", 0, NULL),
    OKF("name_empty_ok", "{'':" TE "}", 8, ""),
    OKF("name_control_escape_ok", "{'\\u0001':" TE "}", 8, "\x01"),
};

/* ------------------------------------------------------------ first failure decides */

static tcase order_cases[] = {
    /* rule 4 before rule 5 before rule 6 */
    S("order_utf8_late_json_early", "{,'__metadata__':{'k':'\xff'}}", ST_E_UTF8, "\xff", 0,
      T_NONE),
    S("order_utf8_late_schema_early", "{'t':" ENT("1", "[2]", "[0,8]") ",'__metadata__':{'k':'\xfe'}}",
      ST_E_UTF8, "\xfe", 0, T_NONE),
    S("order_utf8_late_duplicate_early", "{'a':" TE ",'a':" TE ",'\xc0\xaf':1}", ST_E_UTF8,
      "\xc0", 0, T_NONE),
    S("order_json_late_schema_early", "{'t':" ENT("1", "[2]", "[0,8]") ",'__metadata__':{'a':'b',}}",
      ST_E_JSON, ",}", 1, T_NONE),
    S("order_json_late_dtype_early", "{'t':" ENT("'X'", "[2]", "[0,8]") ",'u':[1 2]}", ST_E_JSON,
      " 2]", 1, T_NONE),
    { .name = "order_json_late_duplicate_early", .hdr = "{'a':" TE ",'a':" TE ",'x':tru}",
      .data = 8, .want = ST_E_JSON, .at = "tru}", .opt = WITHIN },
    S("order_json_late_metadata_early", "{'__metadata__':1,'t':[1,]}", ST_E_JSON, ",]", 1, T_NONE),
    S("order_json_late_name_early", "{'\\u0000':" TE ",'u':{'x':[}}", ST_E_JSON, "[}", 1, T_NONE),
    { .name = "order_json_lone_surrogate_late_schema_early",
      .hdr = "{'t':1,'u':{'x':'\\udc00'}}", .data = 8, .want = ST_E_JSON, .at = "\\udc00",
      .opt = WITHIN },
    /* rule 6 before rules 7-9 */
    S("order_schema_before_offsets", "{'a':" ENT("'F32'", "[2]", "[4,12]") ",'b':" ENT("1", "[2]", "[12,20]") "}",
      ST_E_SCHEMA, "'dtype':1", 8, "b"),
    S("order_schema_first_offsets_later", "{'a':" ENT("true", "[2]", "[0,8]") ",'b':" ENT("'F32'", "[2]", "[9,17]") "}",
      ST_E_SCHEMA, "'dtype':", 8, "a"),
    S("order_dtype_before_size", "{'a':" ENT("'F32'", "[3]", "[0,8]") ",'b':" ENT("'X'", "[2]", "[8,16]") "}",
      ST_E_DTYPE, "'X'", 0, "b"),
    S("order_schema_before_partial_byte", "{'a':" ENT("'F4'", "[3]", "[0,2]") ",'b':" ENT("'F32'", "'2'", "[2,10]") "}",
      ST_E_SCHEMA, "'2'", 0, "b"),
    { .name = "order_metadata_before_coverage", .hdr = "{'__metadata__':{'a':1},'t':" TE "}",
      .data = 5, .want = ST_E_METADATA, .at = "'a':", .adj = 4, .tensor = T_NONE },
    SN("order_duplicate_before_overflow",
       "{'a':" ENT("'U8'", "[18446744073709551615,2]", "[0,8]") ",'a':" TE2 "}", ST_E_DUPLICATE,
       "'a'", 2, NULL),
    S("order_name_before_offsets", "{'a\\u0000':" ENT("'F32'", "[2]", "[4,12]") "}", ST_E_NAME,
      "'a", 0, NULL),
    { .name = "order_schema_before_trailing_bytes", .hdr = ONE(ENT("'F32'", "[2]", "[0,'8']")),
      .data = 20, .want = ST_E_SCHEMA, .at = "'8'", .tensor = "t" },
    /* within rule 6 the first error in document order decides */
    S("order_doc_schema_then_dtype", "{'a':" ENT("1", "[2]", "[0,8]") ",'b':" ENT("'X'", "[2]", "[8,16]") "}",
      ST_E_SCHEMA, "'dtype':", 8, "a"),
    S("order_doc_dtype_then_schema", "{'a':" ENT("'X'", "[2]", "[0,8]") ",'b':" ENT("1", "[2]", "[8,16]") "}",
      ST_E_DTYPE, "'dtype':", 8, "a"),
    S("order_doc_tensor_then_metadata", "{'t':" ENT("1", "[2]", "[0,8]") ",'__metadata__':1}",
      ST_E_SCHEMA, "'dtype':", 8, "t"),
    S("order_doc_metadata_then_tensor", "{'__metadata__':1,'t':" ENT("1", "[2]", "[0,8]") "}",
      ST_E_METADATA, "'__metadata__':", 15, T_NONE),
};

/* Runs a generated header (plain JSON, no ' conversion needed). */
/* Takes ownership of hdr (malloc'd). */
static void run_generated_dup(const char *name, char *hdr, uint64_t data, st_status want,
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

/* ------------------------------------------------------------ dtypes */

/* The 22 names of FORMAT.md section 3, their pinned enum values and bits. */
static const struct {
    const char *name;
    st_dtype dtype;
    unsigned bits;
} dtypes[] = {
    { "BOOL", ST_BOOL, 8 },         { "U8", ST_U8, 8 },
    { "I8", ST_I8, 8 },             { "F8_E5M2", ST_F8_E5M2, 8 },
    { "F8_E4M3", ST_F8_E4M3, 8 },   { "F8_E8M0", ST_F8_E8M0, 8 },
    { "F8_E4M3FNUZ", ST_F8_E4M3FNUZ, 8 }, { "F8_E5M2FNUZ", ST_F8_E5M2FNUZ, 8 },
    { "F4", ST_F4, 4 },             { "F6_E2M3", ST_F6_E2M3, 6 },
    { "F6_E3M2", ST_F6_E3M2, 6 },   { "I16", ST_I16, 16 },
    { "U16", ST_U16, 16 },          { "F16", ST_F16, 16 },
    { "BF16", ST_BF16, 16 },        { "I32", ST_I32, 32 },
    { "U32", ST_U32, 32 },          { "F32", ST_F32, 32 },
    { "C64", ST_C64, 64 },          { "F64", ST_F64, 64 },
    { "I64", ST_I64, 64 },          { "U64", ST_U64, 64 },
};

/* Every dtype is accepted with 8 elements (a whole number of bytes for all). */
static void all_22_dtypes_accepted(void **state)
{
    size_t i;
    (void)state;
    assert_int_equal(COUNT(dtypes), 22);
    for (i = 0; i < COUNT(dtypes); i++) {
        char hdr[160], what[64];
        unsigned nbytes = 8 * dtypes[i].bits / 8;
        size_t n;
        unsigned char *b;
        st_file *f;
        const st_tensor *t;
        snprintf(hdr, sizeof hdr,
                 "{\"w\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%u]}}",
                 dtypes[i].name, nbytes);
        snprintf(what, sizeof what, "dtype %s", dtypes[i].name);
        b = stt_build_str(hdr, nbytes, &n);
        f = stt_open_ok(b, n, 0, what);
        t = st_tensor_find(f, "w");
        assert_non_null(t);
        if (t->dtype != dtypes[i].dtype)
            fail_msg("%s: dtype %d, want %d", what, (int)t->dtype, (int)dtypes[i].dtype);
        assert_int_equal(t->numel, 8);
        assert_int_equal(t->nbytes, nbytes);
        assert_int_equal(t->rank, 2);
        assert_int_equal(st_dtype_bits(t->dtype), dtypes[i].bits);
        st_close(f);
        free(b);
    }
}

/* Names are case-sensitive: the lowercase spelling of every dtype is ST_E_DTYPE. */
static void all_22_dtypes_lowercase_rejected(void **state)
{
    size_t i, k;
    (void)state;
    for (i = 0; i < COUNT(dtypes); i++) {
        char hdr[160], low[32], name[64];
        tcase c;
        for (k = 0; dtypes[i].name[k]; k++) {
            char ch = dtypes[i].name[k];
            low[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
        low[k] = '\0';
        snprintf(hdr, sizeof hdr,
                 "{\"w\":{\"dtype\":\"%s\",\"shape\":[2,4],\"data_offsets\":[0,%u]}}", low,
                 dtypes[i].bits);
        snprintf(name, sizeof name, "dtype_lowercase_%s", low);
        memset(&c, 0, sizeof c);
        c.name = name;
        c.hdr = hdr;
        c.data = dtypes[i].bits;
        c.want = ST_E_DTYPE;
        c.off = 8 + 14; /* {"w":{"dtype": is 14 bytes: the value's quote */
        c.tensor = "w";
        stt_check_case(&c);
    }
}

/* ------------------------------------------------------------ metadata states */

static st_file *open_hdr(const char *hdr, uint64_t data, unsigned char **bytes)
{
    size_t n;
    *bytes = stt_build_str(hdr, data, &n);
    return stt_open_ok(*bytes, n, 0, hdr);
}

static void metadata_states(void **state)
{
    unsigned char *b;
    st_file *f;
    const st_metadata_entry *m;
    (void)state;

    f = open_hdr("{}", 0, &b);
    assert_int_equal(st_metadata_state_of(f), ST_METADATA_ABSENT);
    assert_int_equal(st_metadata_count(f), 0);
    st_close(f);
    free(b);

    f = open_hdr("{\"__metadata__\":null}", 0, &b);
    assert_int_equal(st_metadata_state_of(f), ST_METADATA_NULL);
    assert_int_equal(st_metadata_count(f), 0);
    assert_int_equal(st_tensor_count(f), 0);
    st_close(f);
    free(b);

    f = open_hdr("{\"__metadata__\":{}}", 0, &b);
    assert_int_equal(st_metadata_state_of(f), ST_METADATA_OBJECT);
    assert_int_equal(st_metadata_count(f), 0);
    st_close(f);
    free(b);

    /* the escaped spelling of the reserved key is the reserved key */
    f = open_hdr("{\"\\u005f_metadata__\":{\"k\":\"v\",\"e\":\"\"}}", 0, &b);
    assert_int_equal(st_metadata_state_of(f), ST_METADATA_OBJECT);
    assert_int_equal(st_metadata_count(f), 2);
    assert_int_equal(st_tensor_count(f), 0);
    m = st_metadata_find(f, "k");
    assert_non_null(m);
    assert_string_equal(m->value, "v");
    m = st_metadata_at(f, 1);
    assert_non_null(m);
    assert_string_equal(m->key, "e");
    assert_int_equal(m->value_len, 0);
    assert_null(st_tensor_find(f, "__metadata__"));
    st_close(f);
    free(b);
}

/* A long tensor name is cut in err.tensor and flagged. */
static void long_tensor_name_truncated(void **state)
{
    char name[301], hdr[400];
    size_t n;
    unsigned char *b;
    st_file *f = NULL;
    st_error err;
    st_status s;
    (void)state;
    memset(name, 'n', 300);
    name[300] = '\0';
    snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":1,\"shape\":[2],\"data_offsets\":[0,8]}}", name);
    b = stt_build_str(hdr, 8, &n);
    s = st_open_memory(&f, b, n, NULL, &err);
    free(b);
    if (s != ST_E_SCHEMA) fail_msg("want ST_E_SCHEMA got %s: %s", st_status_name(s), err.message);
    assert_true(err.flags & ST_ERROR_HAS_TENSOR);
    assert_true(err.flags & ST_ERROR_TENSOR_TRUNCATED);
    assert_true(strlen(err.tensor) < sizeof err.tensor);
    assert_true(strlen(err.tensor) > 0);
    assert_memory_equal(err.tensor, name, strlen(err.tensor));
    assert_int_equal(err.offset, 8 + 2 + 300 + 2 + 9); /* {" name ": {"dtype": */
}

/* Integers are parsed exactly over the whole 64-bit range. */
static void integers_exact(void **state)
{
    unsigned char *b;
    st_file *f;
    const st_tensor *t;
    (void)state;
    f = open_hdr("{\"z\":{\"dtype\":\"U8\",\"shape\":[4294967296,0,18446744073709551615,"
                 "9007199254740993],\"data_offsets\":[0,0]},"
                 "\"w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}",
                 8, &b);
    t = st_tensor_find(f, "z");
    assert_non_null(t);
    assert_int_equal(t->rank, 4);
    assert_true(t->shape[0] == 4294967296u);
    assert_true(t->shape[1] == 0);
    assert_true(t->shape[2] == UINT64_MAX);
    assert_true(t->shape[3] == 9007199254740993u); /* not representable as a double */
    assert_int_equal(t->numel, 0);
    t = st_tensor_find(f, "w");
    assert_non_null(t);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->end, 8);
    st_close(f);
    free(b);
}

/* ------------------------------------------------------------ many keys */

enum { MANY = 3000 };

/* Builds {"t0":{U8 [1] [0,1]},...,"t<n-1>":...} plus `extra` before the final
 * brace; *dup_pos is set to the index of the extra text in the header. */
static char *many_tensors(int n, const char *extra, size_t *dup_pos)
{
    size_t cap = (size_t)n * 80 + strlen(extra) + 16, len = 0;
    char *h = malloc(cap);
    int i;
    assert_non_null(h);
    h[len++] = '{';
    for (i = 0; i < n; i++)
        len += (size_t)sprintf(h + len,
                               "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                               i ? "," : "", i, i, i + 1);
    *dup_pos = len;
    len += (size_t)sprintf(h + len, "%s}", extra);
    return h;
}

static void many_tensors_all_found(void **state)
{
    size_t pos, n;
    char *h = many_tensors(MANY, "", &pos);
    unsigned char *b = stt_build_str(h, MANY, &n);
    st_file *f = stt_open_ok(b, n, 0, "many_tensors");
    int i;
    (void)state;
    assert_int_equal(st_tensor_count(f), MANY);
    for (i = 0; i < MANY; i++) {
        char name[16];
        const st_tensor *t;
        snprintf(name, sizeof name, "t%d", i);
        t = st_tensor_find(f, name);
        if (!t || t->begin != (uint64_t)i) fail_msg("tensor %s not found or wrong", name);
    }
    assert_null(st_tensor_find(f, "t3000"));
    st_close(f);
    free(b);
    free(h);
}

static void many_tensors_late_duplicate(void **state)
{
    size_t pos;
    char *h = many_tensors(MANY, ",\"t1234\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}",
                           &pos);
    (void)state;
    /* the duplicate's key quote is right after the comma */
    run_generated_dup("many_tensors_late_duplicate", h, MANY, ST_E_DUPLICATE,
                      (long long)(8 + pos + 1));
}

static void many_metadata_keys_duplicate(void **state)
{
    size_t cap = MANY * 24 + 64, len = 0, dup;
    char *h = malloc(cap);
    int i;
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"__metadata__\":{");
    for (i = 0; i < MANY; i++) len += (size_t)sprintf(h + len, "%s\"k%d\":\"v\"", i ? "," : "", i);
    dup = len + 1;
    len += (size_t)sprintf(h + len, ",\"k2999\":\"v\"}}");
    run_generated_dup("many_metadata_keys_duplicate", h, 0, ST_E_DUPLICATE, (long long)(8 + dup));
}

static void many_unknown_keys_duplicate(void **state)
{
    size_t cap = MANY * 24 + 128, len = 0, dup;
    char *h = malloc(cap);
    int i;
    (void)state;
    assert_non_null(h);
    len = (size_t)sprintf(h, "{\"t\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8],\"x\":{");
    for (i = 0; i < MANY; i++) len += (size_t)sprintf(h + len, "%s\"k%d\":%d", i ? "," : "", i, i);
    dup = len + 1;
    len += (size_t)sprintf(h + len, ",\"k0\":0}}}");
    run_generated_dup("many_unknown_keys_duplicate", h, 8, ST_E_DUPLICATE, (long long)(8 + dup));
}

int main(void)
{
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(all_22_dtypes_accepted),
        cmocka_unit_test(all_22_dtypes_lowercase_rejected),
        cmocka_unit_test(metadata_states),
        cmocka_unit_test(long_tensor_name_truncated),
        cmocka_unit_test(integers_exact),
        cmocka_unit_test(many_tensors_all_found),
        cmocka_unit_test(many_tensors_late_duplicate),
        cmocka_unit_test(many_metadata_keys_duplicate),
        cmocka_unit_test(many_unknown_keys_duplicate),
    };
    int rc = 0;
    rc += stt_run_table("schema", entry_cases, COUNT(entry_cases));
    rc += stt_run_table("keys", key_cases, COUNT(key_cases));
    rc += stt_run_table("order", order_cases, COUNT(order_cases));
    rc += cmocka_run_group_tests_name("schema_extra", extra, NULL, NULL);
    return rc ? 1 : 0;
}
