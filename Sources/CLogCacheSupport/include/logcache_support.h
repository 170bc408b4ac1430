#ifndef LOGCACHE_SUPPORT_H
#define LOGCACHE_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* Returns freed heap memory to the operating system (glibc's malloc_trim); 0 elsewhere. */
int logcache_release_free_memory(void);

/* Atomic operations on 64-bit words in memory shared between processes (a mapped file):
   Swift's own atomics live in Swift-owned storage, not at an arbitrary address. */
uint64_t logcache_atomic_load(const uint64_t *word);
void logcache_atomic_store(uint64_t *word, uint64_t value);
uint64_t logcache_atomic_add(uint64_t *word, uint64_t delta);

/* The file system type of the directory at path (statfs's f_type), or 0 on failure. */
int64_t logcache_file_system_type(const char *path);

/* Asks for transparent huge pages (madvise MADV_HUGEPAGE) on the whole 2 MiB blocks inside
   the `length` bytes at `bytes`, before they are first touched; 0, or -1 with errno set.
   Only a hint: where the kernel has them off, nothing changes. */
int logcache_advise_huge_pages(void *bytes, size_t length);

/* Whether this processor has a CRC-32C instruction (SSE 4.2, or ARMv8's CRC extension). */
int logcache_crc32c_hardware(void);

/* Continues the CRC-32C `crc` (0 to start) over `count` bytes with that instruction; call
   only where logcache_crc32c_hardware() said yes. */
uint32_t logcache_crc32c_update(uint32_t crc, const void *bytes, size_t count);

/* A process-shared, robust, error-checking pthread mutex at `mutex` (in a mapped file),
   which must be logcache_shared_mutex_size() bytes and aligned to 8. Each returns 0 or an
   errno value. lock tries for up to `spin_us` microseconds before it sleeps, and returns
   EOWNERDEAD when the last holder died holding it (the caller then holds it and must make it
   consistent), ENOTRECOVERABLE when such a caller let it go without doing so. */
size_t logcache_shared_mutex_size(void);
int logcache_shared_mutex_init(void *mutex);
int logcache_shared_mutex_lock(void *mutex, int spin_us);
int logcache_shared_mutex_consistent(void *mutex);
int logcache_shared_mutex_unlock(void *mutex);

/* Asks the processor to start loading the cache line at `address` for a read soon, so that
   a batch of hash-table lookups waits for memory once per several keys rather than at each
   step. Inline, because a call would cost as much as the hint saves. */
static inline void logcache_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
