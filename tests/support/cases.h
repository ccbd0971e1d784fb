/* Test support: the table-driven case runner shared by the suites of rules 1-6.
 * Each case is a header text, the data size, the open flags, the expected status
 * and where the error must point. In header texts a ' stands for " (unless the
 * case is RAW). The offset marker `at` is searched in the (converted) header: the
 * expected offset is 8 + its position (+ adj), or, for WITHIN cases, any byte of
 * the marker. Not part of the library. */
#ifndef STT_CASES_H
#define STT_CASES_H
#include <stddef.h>
#include <stdint.h>
#include <safetensors.h>

enum { RAW = 1, WITHIN = 2 };
#define OFF_NONE (-1) /* offset not checked */
#define OFF_END (-2)  /* 8 + N: unexpected end of the header */

typedef struct tcase {
    const char *name;
    const char *hdr;  /* ' stands for " unless RAW */
    size_t hlen;      /* 0: strlen(hdr) */
    uint64_t data;    /* data section bytes */
    uint32_t flags;   /* open flags */
    unsigned opt;     /* RAW, WITHIN */
    st_status want;
    const char *at;   /* offset marker, converted like hdr */
    int nth;          /* occurrence of the marker (0 = first) */
    int adj;          /* added to the marker position */
    long long off;    /* when at is NULL: absolute offset, OFF_NONE or OFF_END */
    const char *tensor; /* expected err.tensor; T_NONE; NULL = derived */
    const char *find; /* ST_OK: this (decoded) name must be found */
    size_t find_len;
    uint32_t lenient; /* ST_OK: expected st_file_leniency_used() */
} tcase;

/* "(no tensor)": HAS_TENSOR must be clear. */
extern const char T_NONE[];
/* A generated header handed to stt_check_case, freed once copied (so a failing
 * case that longjmps out does not leak it). */
extern char *stt_owned_hdr;

/* Runs one case; fails the current cmocka test with a message naming it. */
void stt_check_case(const tcase *c);
/* Runs every case of a table as its own named cmocka test; returns failures. */
int stt_run_table(const char *group, tcase *cases, size_t n);
/* Runs a table of any case type whose first member is `const char *name`, with
 * fn as every test's function (its state is the case). */
int stt_run_cases(const char *group, void *cases, size_t n, size_t size,
                  void (*fn)(void **state));
/* Appends printf output to the NUL-terminated buf of cap bytes (cut if full). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void stt_say(char *buf, size_t cap, const char *fmt, ...);
/* Opens bytes that must be accepted; fails the test with the error record otherwise. */
st_file *stt_open_ok(const unsigned char *b, size_t n, uint32_t flags, const char *what);

#endif
