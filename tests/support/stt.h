/* Test support: build safetensors bytes in memory. Not part of the library. */
#ifndef STT_H
#define STT_H
#include <stddef.h>
#include <stdint.h>
#include <safetensors.h>

/* 8-byte LE length of hdr, the hdr_len header bytes, then data_len bytes of a
 * deterministic pattern (byte i = (i * 7 + 3) & 0xff). malloc'd; *out_size set. */
unsigned char *stt_build(const void *hdr, size_t hdr_len, uint64_t data_len, size_t *out_size);
/* Same with a NUL-terminated header. */
unsigned char *stt_build_str(const char *hdr, uint64_t data_len, size_t *out_size);
/* Opens the built bytes from memory with the given option flags, closes the
 * handle, frees the bytes, and returns the status; err is filled. */
st_status stt_check(const char *hdr, uint64_t data_len, uint32_t flags, st_error *err);
/* Same for raw file bytes (prefix included). */
st_status stt_check_raw(const void *bytes, size_t size, uint32_t flags, st_error *err);
/* Writes bytes to a new file under a fresh temp dir; returns malloc'd path. */
char *stt_write_temp(const void *bytes, size_t size);
/* Removes a path made by stt_write_temp and frees the string. */
void stt_remove_temp(char *path);
#endif
