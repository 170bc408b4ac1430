#include "logcache_support.h"

#include <stdint.h>
#include <sys/mman.h>
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

/* The instruction takes three cycles to give its result and can start one every cycle, so
   one stream of words runs at a third of what the processor can do. Long buffers are cut into
   three lanes checksummed side by side, whose results are joined after each block: the CRC
   register after lanes A then B is A's register moved past B's length, XOR B's register
   computed from zero, because the CRC is linear. Moving a register past n bytes is
   multiplying it by x^(8n) modulo the polynomial, done with the constant for the lane's
   length, found once by running the instruction over n zero bytes from the register that
   stands for the polynomial 1. */
#define LOGCACHE_CRC_POLY 0x82F63B78u

/* a * b modulo the CRC-32C polynomial, both in the reflected order the register uses
   (bit 31 is x^0). */
static uint32_t logcache_crc32c_multiply(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
        if (a & m) product ^= b;
        b = (b & 1) ? (b >> 1) ^ LOGCACHE_CRC_POLY : b >> 1;
    }
    return product;
}

__attribute__((target("sse4.2")))
static uint32_t logcache_crc32c_zeros_constant(size_t bytes) {
    uint64_t c = 1u << 31;
    for (size_t i = 0; i < bytes / 8; i++) c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

/* Lane lengths: long ones for long buffers (the join costs the same whatever the length),
   short ones so that records of a few KiB gain too. */
#define LOGCACHE_CRC_LONG_LANE 8192
#define LOGCACHE_CRC_SHORT_LANE 512

static uint32_t logcache_crc32c_long_constant;
static uint32_t logcache_crc32c_short_constant;

__attribute__((target("sse4.2")))
static uint64_t logcache_crc32c_lanes(uint64_t c, const unsigned char **bytes, size_t *count,
                                      size_t lane, uint32_t *constant) {
    /* Computed by whichever thread comes first; every thread computes the same value. */
    uint32_t k = __atomic_load_n(constant, __ATOMIC_RELAXED);
    if (k == 0) {
        k = logcache_crc32c_zeros_constant(lane);
        __atomic_store_n(constant, k, __ATOMIC_RELAXED);
    }
    const unsigned char *p = *bytes;
    size_t n = *count;
    while (n >= 3 * lane) {
        uint64_t a = c, b = 0, d = 0;
        for (size_t i = 0; i < lane; i += 8) {
            uint64_t wa, wb, wd;
            __builtin_memcpy(&wa, p + i, 8);
            __builtin_memcpy(&wb, p + lane + i, 8);
            __builtin_memcpy(&wd, p + 2 * lane + i, 8);
            a = _mm_crc32_u64(a, wa);
            b = _mm_crc32_u64(b, wb);
            d = _mm_crc32_u64(d, wd);
        }
        a = logcache_crc32c_multiply(k, (uint32_t)a) ^ (uint32_t)b;
        c = logcache_crc32c_multiply(k, (uint32_t)a) ^ (uint32_t)d;
        p += 3 * lane;
        n -= 3 * lane;
    }
    *bytes = p;
    *count = n;
    return c;
}

__attribute__((target("sse4.2")))
uint32_t logcache_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t c = ~crc;
    while (count > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        count--;
    }
    c = logcache_crc32c_lanes(c, &p, &count, LOGCACHE_CRC_LONG_LANE, &logcache_crc32c_long_constant);
    c = logcache_crc32c_lanes(c, &p, &count, LOGCACHE_CRC_SHORT_LANE, &logcache_crc32c_short_constant);
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

/* The append mutex in the SHARED file: process-shared, so that every process that maps the
   file locks the same word, and robust, so that a holder that dies hands the next locker
   EOWNERDEAD instead of leaving every writer blocked for ever. Error-checking, so that a
   thread locking it twice gets EDEADLK rather than hanging. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdlib.h>

size_t logcache_shared_mutex_size(void) {
    return sizeof(pthread_mutex_t);
}

int logcache_shared_mutex_init(void *mutex) {
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0) return rc;
    rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0) rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0) rc = pthread_mutex_init((pthread_mutex_t *)mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

static uint64_t logcache_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A holder runs for microseconds: trying again for up to `spin_us` before sleeping in the
   kernel saves the two context switches of a futex wait when it is running on another core.
   With more processes than cores a holder is often descheduled, and a waiter that went to
   sleep at once is woken only after the holder ran again and the scheduler got round to it. */
int logcache_shared_mutex_lock(void *mutex, int spin_us) {
    pthread_mutex_t *m = (pthread_mutex_t *)mutex;
    int rc = pthread_mutex_trylock(m);
    if (rc != EBUSY || spin_us <= 0) return rc == EBUSY ? pthread_mutex_lock(m) : rc;
    uint64_t deadline = logcache_now_ns() + (uint64_t)spin_us * 1000u;
    for (unsigned i = 1;; i++) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
        rc = pthread_mutex_trylock(m);
        if (rc != EBUSY) return rc;
        if ((i & 15) == 0 && logcache_now_ns() >= deadline) break;
    }
    return pthread_mutex_lock(m);
}

int logcache_shared_mutex_consistent(void *mutex) {
    return pthread_mutex_consistent((pthread_mutex_t *)mutex);
}

int logcache_shared_mutex_unlock(void *mutex) {
    return pthread_mutex_unlock((pthread_mutex_t *)mutex);
}

int logcache_advise_huge_pages(void *bytes, size_t length) {
#if defined(MADV_HUGEPAGE)
    const uintptr_t block = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)bytes + block - 1) & ~(block - 1);
    uintptr_t end = ((uintptr_t)bytes + length) & ~(block - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)bytes; (void)length;
    return 0;
#endif
}
