#ifndef LOGCACHE_SUPPORT_H
#define LOGCACHE_SUPPORT_H

/* Returns freed heap memory to the operating system (glibc's malloc_trim); 0 elsewhere. */
int logcache_release_free_memory(void);

#endif
