/*
 * The C interface as a C program uses it: every call of include/logcache.h on a real store,
 * the error paths, and one handle shared by several threads. tools/test compiles it against
 * the header and the built liblogcache.so and runs it: exit 0 when every check held.
 * Usage: smoke STORE_DIRECTORY
 */
#include "logcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(logcache_options_t) == 64, "logcache_options_t has the layout the library reads");

static int failures = 0;
#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    logcache_last_error());                                                      \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

static logcache_t *shared;

static void *hammer(void *arg) {
    long t = (long)arg;
    char key[32], value[64], out[64];
    for (int i = 0; i < 2000; i++) {
        int kn = snprintf(key, sizeof key, "thread-%ld-%d", t, i);
        int vn = snprintf(value, sizeof value, "value %ld %d", t, i);
        if (logcache_set(shared, key, (size_t)kn, value, (size_t)vn, LOGCACHE_TYPE_TEXT, 0) != LOGCACHE_OK) return (void *)1;
        size_t length = 0;
        uint8_t type = 9;
        if (logcache_get(shared, key, (size_t)kn, out, sizeof out, &length, &type) != LOGCACHE_OK) return (void *)1;
        if (length != (size_t)vn || memcmp(out, value, length) != 0 || type != LOGCACHE_TYPE_TEXT) return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: smoke STORE_DIRECTORY\n");
        return 2;
    }
    CHECK(logcache_abi_version() == LOGCACHE_ABI_VERSION);
    CHECK(strcmp(logcache_last_error(), "") == 0);

    logcache_options_t options;
    logcache_options_init(&options);
    CHECK(options.size == sizeof options);
    options.max_entries = 100000;
    options.policy = "s3-fifo";
    options.compression = "lz4";

    logcache_t *store = NULL;
    CHECK(logcache_open(argv[1], &options, &store) == LOGCACHE_OK && store != NULL);
    if (store == NULL) return 1;

    /* set, get into a buffer (too small first), get_alloc, contains, delete */
    const char *value = "a value that is longer than eight bytes";
    size_t vlen = strlen(value);
    CHECK(logcache_set(store, "k", 1, value, vlen, LOGCACHE_TYPE_JSON, 0) == LOGCACHE_OK);
    char small[8];
    size_t length = 0;
    uint8_t type = 0;
    CHECK(logcache_get(store, "k", 1, small, sizeof small, &length, &type) == LOGCACHE_BUFFER_TOO_SMALL);
    CHECK(length == vlen);
    char *big = malloc(length);
    CHECK(logcache_get(store, "k", 1, big, length, &length, &type) == LOGCACHE_OK);
    CHECK(length == vlen && memcmp(big, value, vlen) == 0 && type == LOGCACHE_TYPE_JSON);
    free(big);
    void *owned = NULL;
    CHECK(logcache_get_alloc(store, "k", 1, &owned, &length, NULL) == LOGCACHE_OK);
    CHECK(owned != NULL && length == vlen && memcmp(owned, value, vlen) == 0);
    logcache_free(owned);
    CHECK(logcache_contains(store, "k", 1) == LOGCACHE_OK);
    CHECK(logcache_get(store, "absent", 6, small, sizeof small, &length, NULL) == LOGCACHE_NOT_FOUND);
    int removed = -1;
    CHECK(logcache_delete(store, "k", 1, &removed) == LOGCACHE_OK && removed == 1);
    CHECK(logcache_delete(store, "k", 1, &removed) == LOGCACHE_OK && removed == 0);
    CHECK(logcache_contains(store, "k", 1) == LOGCACHE_NOT_FOUND);

    /* errors: an empty key, an unknown type, a NULL handle, a negative TTL */
    CHECK(logcache_set(store, "", 0, "v", 1, 0, 0) == LOGCACHE_ERR_INVALID_KEY);
    CHECK(strstr(logcache_last_error(), "empty") != NULL);
    CHECK(logcache_set(store, "k", 1, "v", 1, 7, 0) == LOGCACHE_ERR_INVALID_ARGUMENT);
    CHECK(logcache_set(NULL, "k", 1, "v", 1, 0, 0) == LOGCACHE_ERR_INVALID_ARGUMENT);
    CHECK(logcache_set(store, "k", 1, "v", 1, 0, -5) == LOGCACHE_ERR_INVALID_ARGUMENT);

    /* batches */
    const void *keys[3] = {"b1", "b2", "b3"};
    size_t key_lengths[3] = {2, 2, 2};
    const void *values[3] = {"one", "two", "three"};
    size_t value_lengths[3] = {3, 3, 5};
    uint8_t types[3] = {0, 1, 2};
    CHECK(logcache_set_many(store, 3, keys, key_lengths, values, value_lengths, types, 60000) == LOGCACHE_OK);
    const void *lookup[4] = {"b1", "missing", "b3", "b2"};
    size_t lookup_lengths[4] = {2, 7, 2, 2};
    void *got[4];
    size_t got_lengths[4];
    uint8_t got_types[4];
    size_t found = 0;
    CHECK(logcache_get_many(store, 4, lookup, lookup_lengths, got, got_lengths, got_types, &found) == LOGCACHE_OK);
    CHECK(found == 3 && got[1] == NULL);
    CHECK(got[2] != NULL && got_lengths[2] == 5 && memcmp(got[2], "three", 5) == 0 && got_types[2] == 2);
    CHECK(got[3] != NULL && got_types[3] == 1);
    for (int i = 0; i < 4; i++) logcache_free(got[i]);
    uint64_t entries = 0;
    CHECK(logcache_count(store, &entries) == LOGCACHE_OK && entries == 3);

    /* statistics */
    char *stats = NULL;
    CHECK(logcache_stats_json(store, &stats) == LOGCACHE_OK && stats != NULL && strstr(stats, "\"entries\":3") != NULL);
    logcache_free(stats);

    /* memoization: key, begin (miss, lock), finish, begin (hit) */
    char key[LOGCACHE_MEMO_KEY_MAX];
    const char *request = "{\"model\":\"m\",\"temperature\":0.5}";
    CHECK(logcache_memo_key("chat", "1", request, strlen(request), key, sizeof key) == LOGCACHE_OK);
    CHECK(strncmp(key, "memo/chat/1/", 12) == 0 && strlen(key) == 12 + 64);
    char same[LOGCACHE_MEMO_KEY_MAX];
    const char *reordered = "{\"temperature\":5e-1,\"model\":\"m\"}";
    CHECK(logcache_memo_key("chat", "1", reordered, strlen(reordered), same, sizeof same) == LOGCACHE_OK);
    CHECK(strcmp(key, same) == 0);
    CHECK(logcache_memo_key("chat", "1", "{not json", 9, same, sizeof same) == LOGCACHE_ERR_INVALID_REQUEST);
    CHECK(logcache_memo_key("chat", "1", request, strlen(request), same, 10) == LOGCACHE_ERR_INVALID_ARGUMENT);
    logcache_memo_t *lock = NULL;
    char *entry = NULL;
    size_t entry_length = 0;
    CHECK(logcache_memo_begin(store, key, 1, &lock, &entry, &entry_length) == LOGCACHE_OK && lock != NULL && entry == NULL);
    logcache_memo_t *second = NULL;
    CHECK(logcache_memo_begin(store, key, 0, &second, &entry, &entry_length) == LOGCACHE_BUSY && second == NULL);
    CHECK(logcache_memo_finish(store, lock, "{\"answer\":42}", 13, 1500, 0) == LOGCACHE_OK);
    CHECK(logcache_memo_begin(store, key, 1, &lock, &entry, &entry_length) == LOGCACHE_OK && lock == NULL);
    CHECK(entry != NULL && entry_length == 13 && memcmp(entry, "{\"answer\":42}", 13) == 0);
    logcache_free(entry);
    CHECK(logcache_memo_begin(store, "memo/bad", 1, &lock, &entry, &entry_length) == LOGCACHE_ERR_INVALID_REQUEST);

    /* one handle, several threads */
    shared = store;
    pthread_t threads[4];
    for (long t = 0; t < 4; t++) pthread_create(&threads[t], NULL, hammer, (void *)t);
    for (int t = 0; t < 4; t++) {
        void *result = NULL;
        pthread_join(threads[t], &result);
        CHECK(result == NULL);
    }
    CHECK(logcache_count(store, &entries) == LOGCACHE_OK && entries == 3 + 1 + 8000);

    /* a check needs the store closed everywhere */
    char *report = NULL;
    CHECK(logcache_check(argv[1], 0, &report) == LOGCACHE_ERR_LOCKED && report == NULL);
    uint64_t cleared = 0;
    CHECK(logcache_clear(store, &cleared) == LOGCACHE_OK && cleared == 8004);

    /* closing */
    CHECK(logcache_close(store) == LOGCACHE_OK);
    CHECK(logcache_close(store) == LOGCACHE_OK);
    CHECK(logcache_set(store, "k", 1, "v", 1, 0, 0) == LOGCACHE_ERR_CLOSED);
    CHECK(strstr(logcache_last_error(), "closed") != NULL);
    logcache_release(store);
    CHECK(logcache_check(argv[1], 0, &report) == LOGCACHE_OK && report != NULL && strstr(report, "\"problems\":[]") != NULL);
    logcache_free(report);

    /* a path that is not valid UTF-8 is refused, not repaired into another path */
    logcache_t *latin1 = NULL;
    CHECK(logcache_open("/tmp/logcache-caf\xe9", NULL, &latin1) == LOGCACHE_ERR_INVALID_ARGUMENT && latin1 == NULL);
    CHECK(strstr(logcache_last_error(), "UTF-8") != NULL);

    /* a directory that is not a store */
    logcache_t *none = NULL;
    CHECK(logcache_open("/proc/self", NULL, &none) != LOGCACHE_OK && none == NULL);

    if (failures == 0) printf("C interface: every check passed\n");
    return failures == 0 ? 0 : 1;
}
