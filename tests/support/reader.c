#include "reader.h"

#include <string.h>
#include <time.h>
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#endif

int stt_mem_read(void *ctx, uint64_t offset, void *dst, size_t size)
{
    stt_mem_reader *r = (stt_mem_reader *)ctx;
    unsigned n;
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    n = ++r->calls;
    if (size == 0 || offset > r->declared || size > r->declared - offset) r->bad_call = 1;
    if (n <= STT_LOG_MAX) {
        r->log[n - 1].off = offset;
        r->log[n - 1].size = size;
    }
    r->bytes_read += size;
    if (++r->in_flight > r->max_in_flight) r->max_in_flight = r->in_flight;
    pthread_mutex_unlock(&r->mu);
    if (r->sleep_us) {
#if defined(_WIN32)
        /* Windows sleeps in milliseconds (a shorter nanosleep returns at once) */
        Sleep(r->sleep_us < 1000u ? 1u : (DWORD)(r->sleep_us / 1000u));
#else
        struct timespec ts;
        ts.tv_sec = r->sleep_us / 1000000u;
        ts.tv_nsec = (long)(r->sleep_us % 1000000u) * 1000L;
        nanosleep(&ts, NULL);
#endif
    }
    if (r->fail_at && n == r->fail_at) {
        rc = r->fail_code;
        if (rc == ST_READER_SHORT && offset < r->len)
            memcpy(dst, r->bytes + offset, (r->len - offset < size ? r->len - offset : size) / 2);
    } else if (offset > r->len || size > r->len - offset) {
        /* the storage ends first (a declared size larger than the bytes) */
        if (offset < r->len) memcpy(dst, r->bytes + offset, (size_t)(r->len - offset));
        rc = ST_READER_SHORT;
    } else {
        memcpy(dst, r->bytes + offset, size);
    }
    pthread_mutex_lock(&r->mu);
    r->in_flight--;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void stt_mem_reader_init(stt_mem_reader *r, const void *bytes, uint64_t len, st_reader *st)
{
    st_reader init = ST_READER_INIT;
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->bytes = (const unsigned char *)bytes;
    r->len = len;
    r->declared = len;
    *st = init;
    st->read = stt_mem_read;
    st->ctx = r;
}

void stt_mem_reader_reset_log(stt_mem_reader *r)
{
    pthread_mutex_lock(&r->mu);
    r->calls = 0;
    r->bytes_read = 0;
    r->max_in_flight = 0;
    pthread_mutex_unlock(&r->mu);
}

void stt_mem_reader_done(stt_mem_reader *r)
{
    pthread_mutex_destroy(&r->mu);
}
