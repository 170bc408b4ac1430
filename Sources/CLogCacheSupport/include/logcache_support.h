#ifndef LOGCACHE_SUPPORT_H
#define LOGCACHE_SUPPORT_H

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

#endif
