/* Lookup by name (keyed hash), file-order iteration, metadata access and the
 * handle's plain getters. None of these touch the file bytes. */
#include "os.h"

#include <errno.h>
#include <string.h>

void st__tensor_name(const void *owner, uint32_t idx, const char **name, size_t *len)
{
    const st_file *f = (const st_file *)owner;
    *name = f->tensors[idx].name;
    *len = (size_t)f->tensors[idx].name_len;
}

void st__meta_name(const void *owner, uint32_t idx, const char **name, size_t *len)
{
    const st_file *f = (const st_file *)owner;
    *name = (const char *)st__uleb_get(f->meta[idx], len);
}

uint64_t st_tensor_count(const st_file *file)
{
    return file ? file->ntensors : 0;
}

const st_tensor *st_tensor_at(const st_file *file, uint64_t index)
{
    if (!file || index >= file->ntensors) return NULL;
    return &file->tensors[file->order ? file->order[index] : (size_t)index];
}

const st_tensor *st_tensor_find_n(const st_file *file, const char *name, size_t name_len)
{
    int64_t i;
    if (!file || !name) return NULL;
    i = st__hash_find(&file->names, &file->key, file, st__tensor_name, name, name_len);
    return i < 0 ? NULL : &file->tensors[i];
}

const st_tensor *st_tensor_find(const st_file *file, const char *name)
{
    int64_t i;
    if (!file || !name) return NULL;
    i = st__hash_find_str(&file->names, &file->key, file, st__tensor_name, name, strlen(name));
    return i < 0 ? NULL : &file->tensors[i];
}

st_metadata_state st_metadata_state_of(const st_file *file)
{
    return file ? file->meta_state : ST_METADATA_ABSENT;
}

uint64_t st_metadata_count(const st_file *file)
{
    return file ? file->nmeta : 0;
}

/* ---------------------------------------------------------------- metadata entries */

/* Open keeps one blob per metadata entry (its layout: internal.h, above st__uleb_len); the
 * public st_metadata_entry records, four times the size for short entries, are
 * made only when asked for, ST__META_CHUNK at a time, and then stay until
 * st_close (the pointers given out must not move). A handle is read from any
 * number of threads at once: the lock makes each chunk once. */

/* The size of an entry of the chunk table: a pointer (to records). */
/* NOLINTNEXTLINE(bugprone-sizeof-expression): a pointer's size is meant */
#define ST__CHUNK_PTR sizeof(st_metadata_entry *)

st_status st__meta_publish(st_file *f, st_error *err)
{
    size_t n;
    int e;
    if (!f->nmeta) return ST_OK;
    n = (size_t)((f->nmeta - 1) / ST__META_CHUNK + 1);
    f->meta_chunks = (st_metadata_entry **)st__malloc(&f->alloc, n * ST__CHUNK_PTR);
    if (!f->meta_chunks) return st__fail(err, ST_E_NOMEM, ST__NO_OFFSET, NULL, 0, "out of memory");
    memset(f->meta_chunks, 0, n * ST__CHUNK_PTR);
    f->meta_nchunks = n;
    e = st__os_lock_new(&f->alloc, &f->meta_lock);
    if (e != 0) {
        f->meta_lock = NULL;
        return st__fail(err, e == ENOMEM ? ST_E_NOMEM : ST_E_IO, ST__NO_OFFSET, NULL, 0,
                        "cannot create the lock of the metadata entries: %s", strerror(e));
    }
    return ST_OK;
}

/* Entries in chunk k. */
static size_t st__meta_chunk_len(const st_file *f, size_t k)
{
    uint64_t left = f->nmeta - (uint64_t)k * ST__META_CHUNK;
    return left < ST__META_CHUNK ? (size_t)left : ST__META_CHUNK;
}

void st__meta_release(st_file *f)
{
    size_t k;
    if (f->meta_chunks) {
        for (k = 0; k < f->meta_nchunks; k++)
            st__free(&f->alloc, f->meta_chunks[k], st__meta_chunk_len(f, k) * sizeof **f->meta_chunks);
        st__free(&f->alloc, f->meta_chunks, f->meta_nchunks * ST__CHUNK_PTR);
    }
    if (f->meta_lock) st__os_lock_free(&f->alloc, f->meta_lock);
    f->meta_chunks = NULL;
    f->meta_nchunks = 0;
    f->meta_lock = NULL;
}

/* The public entry of index (< nmeta), made with its chunk if need be; NULL if
 * the chunk cannot be allocated (a later call tries again). */
static const st_metadata_entry *st__meta_entry(const st_file *f, uint64_t index)
{
    size_t k = (size_t)(index / ST__META_CHUNK), n, i;
    st_metadata_entry *chunk;
    st__os_lock_acquire(f->meta_lock);
    chunk = f->meta_chunks[k];
    if (!chunk) {
        n = st__meta_chunk_len(f, k);
        chunk = (st_metadata_entry *)st__malloc(&f->alloc, n * sizeof *chunk);
        if (chunk) {
            for (i = 0; i < n; i++) {
                const unsigned char *p = f->meta[k * ST__META_CHUNK + i];
                size_t len;
                p = st__uleb_get(p, &len);
                chunk[i].key = (const char *)p;
                chunk[i].key_len = len;
                p = st__uleb_get(p + len + 1, &len);
                chunk[i].value = (const char *)p;
                chunk[i].value_len = len;
            }
            f->meta_chunks[k] = chunk;
        }
    }
    st__os_lock_release(f->meta_lock);
    return chunk ? &chunk[index % ST__META_CHUNK] : NULL;
}

const st_metadata_entry *st_metadata_at(const st_file *file, uint64_t index)
{
    if (!file || index >= file->nmeta) return NULL;
    return st__meta_entry(file, index);
}

const st_metadata_entry *st_metadata_find_n(const st_file *file, const char *key, size_t key_len)
{
    int64_t i;
    if (!file || !key || !file->nmeta) return NULL;
    i = st__hash_find(&file->meta_hash, &file->key, file, st__meta_name, key, key_len);
    return i < 0 ? NULL : st__meta_entry(file, (uint64_t)i);
}

const st_metadata_entry *st_metadata_find(const st_file *file, const char *key)
{
    if (!key) return NULL;
    return st_metadata_find_n(file, key, strlen(key));
}

uint64_t st_file_size(const st_file *file) { return file ? file->size : 0; }
uint64_t st_file_header_size(const st_file *file) { return file ? file->header_size : 0; }
uint64_t st_file_data_offset(const st_file *file) { return file ? file->data_offset : 0; }
uint64_t st_file_data_size(const st_file *file)
{
    return file ? file->size - file->data_offset : 0;
}
const void *st_file_bytes(const st_file *file) { return file ? file->bytes : NULL; }
uint32_t st_file_leniency_used(const st_file *file) { return file ? file->leniency_used : 0; }
uint64_t st_file_trailing_bytes(const st_file *file) { return file ? file->trailing : 0; }
