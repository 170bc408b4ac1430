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

/* CRC-32C with the processor's own instruction: SSE 4.2's crc32 on x86-64, the CRC
   extension's crc32c on 64-bit ARM. Checked at run time, so one binary runs everywhere
   and falls back to the table-driven code in Swift where the instruction is missing. */
#if defined(__x86_64__)
#include <nmmintrin.h>

int logcache_crc32c_hardware(void) {
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t logcache_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t c = ~crc;
    while (count > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        count--;
    }
    while (count >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        count--;
    }
    return ~(uint32_t)c;
}
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#include <asm/hwcap.h>

int logcache_crc32c_hardware(void) {
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}

__attribute__((target("+crc")))
uint32_t logcache_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint32_t c = ~crc;
    while (count >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        c = __builtin_arm_crc32cd(c, word);
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        c = __builtin_arm_crc32cb(c, *p++);
        count--;
    }
    return ~c;
}
#else
int logcache_crc32c_hardware(void) { return 0; }

uint32_t logcache_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;
}
#endif
