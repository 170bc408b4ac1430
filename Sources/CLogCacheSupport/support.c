#include "logcache_support.h"

#include <sys/vfs.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int logcache_release_free_memory(void) {
#if defined(__GLIBC__)
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
