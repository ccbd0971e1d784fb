/* Private to the sharded-model files: model_index.c (reading and checking the
 * index) and model.c (shards: opening, checking against the weight map, the
 * LRU cache of open shards; the public st_model_* functions). Never installed. */
#ifndef ST_MODEL_H
#define ST_MODEL_H

#include "os.h"

#define ST__INDEX_SUFFIX ".safetensors.index.json"

typedef struct st__shard {
    const char *name; /* as written in the index (arena), NUL-terminated */
    size_t name_len;
    uint64_t first, count; /* its entries: [first, first + count) in model order */
    st_file *file;         /* NULL while closed */
    uint32_t pins;
    int opening; /* a thread is opening it outside the lock */
    uint64_t last_use;
} st__shard;

struct st_model {
    st_allocator alloc;
    st__arena arena;
    /* the index's text (text_alloc bytes from alloc): tensor names written
     * without escapes point into it, each ended by a NUL written over its
     * closing quote once the index has been parsed */
    char *text;
    size_t text_alloc;
    st__key128 key;
    /* entries in model order (sorted once the index is read) */
    st_model_entry *entries;
    size_t entries_cap;
    uint64_t nentries;
    st__hash names;
    st__shard *shards;
    size_t shards_cap;
    uint64_t nshards;
    st__hash shard_names;
    /* where shards are: root is the real path of the index's directory; a
     * single-file model keeps the path it was given in single instead */
    const char *root;
    size_t root_len;
    const char *single;
    st_open_options fopts; /* for every shard; allocator points at shard_alloc */
    /* shards allocate through a cache in front of alloc: a shard closed (or
     * evicted) leaves its blocks for the next one to open */
    st__cache cache;
    st_allocator shard_alloc;
    int has_storage;             /* st_model_open_storage: shards through readers */
    /* the index's "metadata" object: keys decoded, string values decoded,
     * other values as their JSON text (arena) */
    st_metadata_entry *meta;
    size_t meta_cap;
    uint64_t nmeta;
    st_model_storage storage;
    uint32_t max_open;
    int follow_symlinks; /* ST_MODEL_FOLLOW_SYMLINKS */
    uint32_t nopen; /* open shards plus shards being opened */
    uint64_t tick;
    st__os_lock *lock; /* guards the shard table; its condition: an open ended */
};


/* Hash callbacks: the name of entry idx, the name of shard idx. */
void st__model_entry_name(const void *owner, uint32_t idx, const char **name, size_t *len);
void st__model_shard_key(const void *owner, uint32_t idx, const char **name, size_t *len);
/* A NUL-terminated copy of s[0..n) in the arena; NULL if out of memory. */
char *st__model_strdup(st__arena *ar, const char *s, size_t n);
/* Puts the formatted prefix in front of err->message (cut at the end). */
void st__model_prefix(st_error *err, const char *fmt, ...) ST__PRINTF(2, 3);
/* ST_E_IO with errno e: "<what> "<path>": <strerror>". */
st_status st__model_io_fail(st_error *err, int e, const char *what, const char *path);
/* a + "/" + b into out[ST__PATH_MAX]; 0 if it does not fit. */
int st__model_join(char *out, const char *a, size_t an, const char *b, size_t bn);
int st__model_ends_with(const char *s, size_t n, const char *suffix);

/* Reads the whole index file (open/read, not mmap; O_NONBLOCK so a FIFO does
 * not block) into *out from the model's allocator: *text_len bytes of text,
 * *alloc_len bytes to free. More than cap bytes is ST_E_HEADER_TOO_LARGE. */
st_status st__model_read_index(st_model *m, const char *path, uint64_t cap, char **out,
                               size_t *text_len, size_t *alloc_len, st_error *err);
/* The only *.safetensors.index.json in dir, joined to dir in out[ST__PATH_MAX]:
 * none is ST_E_NOT_FOUND, several ST_E_INVALID_ARGUMENT (listed). */
st_status st__model_find_index(const char *dir, char *out, st_error *err);
/* The same through the model's storage (st_model_open_storage). */
st_status st__model_read_index_storage(st_model *m, const char *name, uint64_t cap, char **out,
                                       size_t *text_len, size_t *alloc_len, st_error *err);
/* Closes a shard's handle, and its reader when the model has storage. */
void st__model_close_file(const st_model *m, st_file *f);
/* Parses the index text m->text[0..n) (label names it in messages) into the
 * model's entries and shards, in model order. Error offsets are offsets in
 * the index file. */
st_status st__model_parse_index(st_model *m, size_t n, const char *label, st_error *err);
/* Sorts the entries into model order, indexes them by name and sets each
 * shard's range of entries. */
st_status st__model_finish_entries(st_model *m, st_error *err);

#endif /* ST_MODEL_H */
