/* Lookup by name (keyed hash), file-order iteration, metadata access and the
 * handle's plain getters. None of these touch the file bytes. */
#include "internal.h"

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
    *name = f->meta[idx].key;
    *len = (size_t)f->meta[idx].key_len;
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

const st_metadata_entry *st_metadata_at(const st_file *file, uint64_t index)
{
    if (!file || index >= file->nmeta) return NULL;
    return &file->meta[index];
}

const st_metadata_entry *st_metadata_find_n(const st_file *file, const char *key, size_t key_len)
{
    int64_t i;
    if (!file || !key || !file->nmeta) return NULL;
    i = st__hash_find(&file->meta_hash, &file->key, file, st__meta_name, key, key_len);
    return i < 0 ? NULL : &file->meta[i];
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
