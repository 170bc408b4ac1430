/*
 * logcache.h: the C interface of LogCache (liblogcache.so), for bindings in other
 * languages. docs/c-api.md describes every call.
 *
 * Rules that hold for every function:
 * - Every call returns a status (logcache_status): LOGCACHE_OK, one of the outcomes that
 *   are not errors (LOGCACHE_NOT_FOUND, LOGCACHE_BUFFER_TOO_SMALL, LOGCACHE_BUSY), or an
 *   error; after an error, logcache_last_error() on the same thread says what went wrong.
 * - No error, trap or exception of the library's own crosses this interface.
 * - A handle (logcache_t) may be used from many threads at once.
 * - Keys and values are byte strings with explicit lengths; strings are NUL-terminated UTF-8.
 * - Memory the library allocates for the caller is freed with logcache_free().
 * - After fork(), a child must not use, close or release a handle its parent opened: it
 *   forgets it and opens its own (closing would release locks that belong to the parent).
 */
#ifndef LOGCACHE_H
#define LOGCACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface; logcache_abi_version() returns the library's. */
#define LOGCACHE_ABI_VERSION 1

/* Room enough for any memo key with its terminating NUL. */
#define LOGCACHE_MEMO_KEY_MAX 512

typedef enum logcache_status {
    LOGCACHE_OK = 0,
    /* Not errors: */
    LOGCACHE_NOT_FOUND = 1,        /* no value under the key (or it expired) */
    LOGCACHE_BUFFER_TOO_SMALL = 2, /* *length holds the bytes needed; nothing was copied */
    LOGCACHE_BUSY = 3,             /* the memo key is being computed by another caller */
    /* Errors: */
    LOGCACHE_ERR_INVALID_ARGUMENT = 10,   /* a NULL pointer, an unknown option value */
    LOGCACHE_ERR_INVALID_KEY = 11,        /* empty, or longer than 65,535 bytes */
    LOGCACHE_ERR_VALUE_TOO_LARGE = 12,    /* over the value limit or the store's capacity */
    LOGCACHE_ERR_CLOSED = 13,             /* the handle was closed */
    LOGCACHE_ERR_NOT_A_STORE = 14,        /* the directory is not a store, or not a directory */
    LOGCACHE_ERR_CORRUPT = 15,            /* a file of the store is damaged */
    LOGCACHE_ERR_INCOMPATIBLE_FORMAT = 16,/* written in a format this build does not read */
    LOGCACHE_ERR_LOCKED = 17,             /* held by fsck or repair, or (for check) open elsewhere */
    LOGCACHE_ERR_IO = 18,                 /* a system call failed (full disk, permissions) */
    LOGCACHE_ERR_INVALID_REQUEST = 19,    /* memo: a namespace, version or JSON that cannot make a key */
    LOGCACHE_ERR_CACHED_FAILURE = 20,     /* memo: the key holds a cached failure (its message is the last error) */
    LOGCACHE_ERR_INTERNAL = 99
} logcache_status;

/* What a value's bytes are; kept with the value. */
typedef enum logcache_value_type {
    LOGCACHE_TYPE_BYTES = 0,
    LOGCACHE_TYPE_TEXT = 1,   /* UTF-8 text */
    LOGCACHE_TYPE_JSON = 2,   /* JSON text */
    LOGCACHE_TYPE_PICKLE = 3  /* a Python pickle */
} logcache_value_type;

/* An open store. */
typedef struct logcache logcache_t;
/* A memo key's lock, held while its result is computed. */
typedef struct logcache_memo logcache_memo_t;

/*
 * Options for opening (and creating) a store. Fill with logcache_options_init() first, then
 * set what differs: fields added later go at the end, and `size` tells the library which
 * fields the caller knows. The store settings (capacity, max_entries, policy, compression,
 * zstd_level, default_ttl_ms) apply when the store is created; an existing store keeps its own.
 */
typedef struct logcache_options {
    uint32_t size;            /* sizeof(logcache_options_t), set by logcache_options_init */
    int64_t capacity;         /* live bytes the store may hold; 0 for unbounded */
    int64_t max_entries;      /* live entries the store may hold; 0 for unbounded */
    const char *policy;       /* "lru" (NULL), "lfu", "ttl", "fifo", "clock", "sieve", "s3-fifo", "w-tinylfu", "arc", "2q" */
    const char *compression;  /* "zstd" (NULL), "lz4", "none" */
    int32_t zstd_level;       /* 0 for the default (3) */
    int64_t default_ttl_ms;   /* 0 for none */
    const char *durability;   /* "none" (NULL), "sync" (fsync every write), or "interval:MS" */
} logcache_options_t;

/* The interface version of the library (LOGCACHE_ABI_VERSION it was built with). */
int logcache_abi_version(void);

/* The message of the last error on this thread; "" when none. Valid until the next call
 * on this thread. */
const char *logcache_last_error(void);

/* Frees memory the library returned (values, statistics, reports). NULL is ignored. */
void logcache_free(void *memory);

void logcache_options_init(logcache_options_t *options);

/* Opens the store in `directory`, creating it when missing or empty. options may be NULL. */
int logcache_open(const char *directory, const logcache_options_t *options, logcache_t **store);

/* Flushes and closes the store; later calls on the handle return LOGCACHE_ERR_CLOSED.
 * Closing twice is fine. The handle's memory stays until logcache_release(). */
int logcache_close(logcache_t *store);

/* Closes the store if open and frees the handle. No other thread may be using it. */
void logcache_release(logcache_t *store);

/* The value of `key` copied into `buffer` (of `capacity` bytes): LOGCACHE_OK with *length
 * set; LOGCACHE_BUFFER_TOO_SMALL with *length set to the value's length; LOGCACHE_NOT_FOUND.
 * type may be NULL. */
int logcache_get(logcache_t *store, const void *key, size_t key_length,
                 void *buffer, size_t capacity, size_t *length, uint8_t *type);

/* The value of `key` in memory the library allocates (*value, freed with logcache_free). */
int logcache_get_alloc(logcache_t *store, const void *key, size_t key_length,
                       void **value, size_t *length, uint8_t *type);

/* Stores a value of `type` (logcache_value_type) under `key`. ttl_ms: 0 for the store's
 * default TTL (if any), otherwise milliseconds the value lives. */
int logcache_set(logcache_t *store, const void *key, size_t key_length,
                 const void *value, size_t value_length, uint8_t type, int64_t ttl_ms);

/* Removes `key`'s value; *removed (may be NULL) is 1 when there was one, 0 otherwise. */
int logcache_delete(logcache_t *store, const void *key, size_t key_length, int *removed);

/* Whether `key` has a live value: LOGCACHE_OK or LOGCACHE_NOT_FOUND. */
int logcache_contains(logcache_t *store, const void *key, size_t key_length);

/* The values of `count` keys: values[i] is allocated (free with logcache_free) or NULL on a
 * miss, lengths[i] and types[i] (types may be NULL) set for each hit; *found (may be NULL)
 * counts the hits. */
int logcache_get_many(logcache_t *store, size_t count, const void *const *keys, const size_t *key_lengths,
                      void **values, size_t *lengths, uint8_t *types, size_t *found);

/* Stores `count` values in one batch, all with the same ttl_ms (as logcache_set). types may
 * be NULL (all bytes). Every key and value is checked before any is written. */
int logcache_set_many(logcache_t *store, size_t count, const void *const *keys, const size_t *key_lengths,
                      const void *const *values, const size_t *value_lengths, const uint8_t *types, int64_t ttl_ms);

/* Removes every entry; *removed (may be NULL) is how many there were. */
int logcache_clear(logcache_t *store, uint64_t *removed);

/* The number of live entries. */
int logcache_count(logcache_t *store, uint64_t *entries);

/* The store's statistics as a JSON object (allocated, NUL-terminated). */
int logcache_stats_json(logcache_t *store, char **json);

/* Checks the store in `directory` (as `cachectl fsck`), repairing it when `repair` is
 * nonzero; *report is a JSON object (allocated). Needs the store closed everywhere:
 * LOGCACHE_ERR_LOCKED otherwise. */
int logcache_check(const char *directory, int repair, char **report);

/* The store key of a memoized request: `request_json` (one JSON value) under `namespace`
 * and `version`, canonically encoded as Swift's MemoKey encodes the same JSON (member
 * order and number spelling do not matter). Written NUL-terminated into `key`, which has
 * room for `capacity` bytes (LOGCACHE_MEMO_KEY_MAX always suffices). */
int logcache_memo_key(const char *namespace_, const char *version, const char *request_json, size_t request_length,
                      char *key, size_t capacity);

/*
 * Starts memoizing `memo_key` (from logcache_memo_key):
 * - a stored result: LOGCACHE_OK, *entry set to the entry's JSON (allocated;
 *   {"computeMicroseconds":…,"kind":"value","memo":1,"value":RESULT}), *lock NULL;
 * - a cached failure: LOGCACHE_ERR_CACHED_FAILURE, its message as the last error;
 * - a miss: LOGCACHE_OK, *entry NULL, *lock the key's lock, taken for this caller: compute,
 *   then logcache_memo_finish() or logcache_memo_abandon(). With wait nonzero the call waits
 *   while another caller (thread or process) computes the key, then returns its result;
 *   with wait 0 it returns LOGCACHE_BUSY instead. A computing process that dies passes the
 *   lock to the next waiter.
 */
int logcache_memo_begin(logcache_t *store, const char *memo_key, int wait,
                        logcache_memo_t **lock, char **entry, size_t *entry_length);

/* Stores `result_json` (one JSON value) as the key's result, with the time it took, and
 * releases the lock (also on an error). ttl_ms as for logcache_set. */
int logcache_memo_finish(logcache_t *store, logcache_memo_t *lock, const char *result_json, size_t result_length,
                         int64_t compute_us, int64_t ttl_ms);

/* Releases the lock without storing anything (the computation failed). */
int logcache_memo_abandon(logcache_t *store, logcache_memo_t *lock, int64_t compute_us);

#ifdef __cplusplus
}
#endif

#endif /* LOGCACHE_H */
