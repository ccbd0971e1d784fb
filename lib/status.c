/* Status names and messages, the error record, and the version. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

const char *st_status_name(int status)
{
    switch (status) {
#define ST_STATUS_NAME_(name, num, msg) case num: return #name;
        ST_STATUS_LIST(ST_STATUS_NAME_)
#undef ST_STATUS_NAME_
    default: return "ST_UNKNOWN_STATUS";
    }
}

const char *st_status_message(int status)
{
    switch (status) {
#define ST_STATUS_MSG_(name, num, msg) case num: return msg;
        ST_STATUS_LIST(ST_STATUS_MSG_)
#undef ST_STATUS_MSG_
    default: return "unknown status";
    }
}

void st__clear_error(st_error *err)
{
    if (!err) return;
    memset(err, 0, sizeof *err);
    err->code = ST_OK;
}

const char *st__quote(char *out, size_t out_size, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;
    if (out_size == 0) return out;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[4];
        size_t n = 0;
        if (c < 0x20 || c == 0x7f) {
            tmp[n++] = '\\'; tmp[n++] = 'x';
            tmp[n++] = hex[c >> 4]; tmp[n++] = hex[c & 15];
        } else if (c == '"' || c == '\\') {
            tmp[n++] = '\\'; tmp[n++] = (char)c;
        } else {
            tmp[n++] = (char)c;
        }
        if (o + n + 4 > out_size) { /* room for "..." and NUL */
            if (out_size >= 4) {
                /* do not cut a UTF-8 sequence in half */
                while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80) o--;
                if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0) o--;
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o < out_size ? o : out_size - 1] = '\0';
    return out;
}

st_status st__vfail(st_error *err, st_status status, uint64_t offset, const char *name,
                    size_t name_len, const char *fmt, va_list ap)
{
    if (!err) return status;
    memset(err, 0, sizeof *err);
    err->code = (int)status;
    if (offset != ST__NO_OFFSET) {
        err->flags |= ST_ERROR_HAS_OFFSET;
        err->offset = offset;
    }
    if (name) {
        size_t n = name_len;
        err->flags |= ST_ERROR_HAS_TENSOR;
        if (memchr(name, '\0', n)) err->flags |= ST_ERROR_TENSOR_TRUNCATED; /* cut at the NUL */
        if (n >= sizeof err->tensor) {
            n = sizeof err->tensor - 1;
            /* cut on a UTF-8 boundary */
            while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) n--;
            err->flags |= ST_ERROR_TENSOR_TRUNCATED;
        }
        memcpy(err->tensor, name, n);
        err->tensor[n] = '\0';
    }
    (void)vsnprintf(err->message, sizeof err->message, fmt, ap); /* cut if too long */
    return status;
}

st_status st__fail(st_error *err, st_status status, uint64_t offset, const char *name,
                   size_t name_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st__vfail(err, status, offset, name, name_len, fmt, ap);
    va_end(ap);
    return status;
}

void st__append(st_error *err, const char *suffix)
{
    size_t n, k;
    if (!err) return;
    n = strlen(err->message);
    k = strlen(suffix);
    if (n + k < sizeof err->message) memcpy(err->message + n, suffix, k + 1);
}

unsigned st_version_number(void)
{
    return ST_VERSION_NUMBER;
}

#define ST__STR2(x) #x
#define ST__STR(x) ST__STR2(x)
const char *st_version_string(void)
{
    return ST__STR(ST_VERSION_MAJOR) "." ST__STR(ST_VERSION_MINOR) "." ST__STR(ST_VERSION_PATCH);
}
