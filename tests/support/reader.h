/* Test support: a reader (st_reader) over bytes in memory that logs every call
 * and can fail on purpose (at the Nth call, with a code or a short read) or
 * sleep, and counts how many calls ran at once. Not part of the library. */
#ifndef STT_READER_H
#define STT_READER_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <safetensors.h>

#define STT_LOG_MAX 4096

typedef struct stt_read_call {
    uint64_t off, size;
} stt_read_call;

typedef struct stt_mem_reader {
    const unsigned char *bytes;
    uint64_t len;      /* bytes the storage really holds */
    uint64_t declared; /* the size given to st_open_reader (len by default) */
    /* faults: the call numbered fail_at (1-based; 0 = never) returns fail_code
     * (ST_READER_SHORT for a short read, after copying half the bytes) */
    unsigned fail_at;
    int fail_code;
    unsigned sleep_us; /* per call */
    /* results */
    pthread_mutex_t mu;
    unsigned calls;
    uint64_t bytes_read;
    int in_flight, max_in_flight;
    int bad_call;      /* a call of 0 bytes, or past declared: the library broke its word */
    stt_read_call log[STT_LOG_MAX];
} stt_mem_reader;

/* Sets up r over bytes[0..len) with no faults; st receives a reader for it. */
void stt_mem_reader_init(stt_mem_reader *r, const void *bytes, uint64_t len, st_reader *st);
void stt_mem_reader_reset_log(stt_mem_reader *r);
void stt_mem_reader_done(stt_mem_reader *r);
int stt_mem_read(void *ctx, uint64_t offset, void *dst, size_t size);

#endif
