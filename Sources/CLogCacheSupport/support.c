#include "logcache_support.h"

#include <sys/vfs.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define LOGCACHE_SANITIZED 1
#endif
#endif

int logcache_release_free_memory(void) {
#if defined(LOGCACHE_SANITIZED)
    /* A sanitizer's allocator stands in for glibc's, whose heap malloc_trim would walk
       uninitialized (under ThreadSanitizer it crashed there). There is nothing to trim. */
    return 0;
#elif defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

uint64_t logcache_atomic_load(const uint64_t *word) {
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

void logcache_atomic_store(uint64_t *word, uint64_t value) {
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

uint64_t logcache_atomic_add(uint64_t *word, uint64_t delta) {
    return __atomic_add_fetch(word, delta, __ATOMIC_ACQ_REL);
}

int64_t logcache_file_system_type(const char *path) {
    struct statfs st;
    if (statfs(path, &st) != 0) return 0;
    return (int64_t)st.f_type;
}
