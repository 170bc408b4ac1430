#include <hiredis/hiredis.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>

/* hiredis writes to its socket with write(2), which raises SIGPIPE when Redis has gone away.
   A library must not change the process's signal handlers, so the calling thread blocks
   SIGPIPE around each exchange and takes away a SIGPIPE that became pending on it. */
static inline void logcache_block_sigpipe(sigset_t *old) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static inline void logcache_restore_sigpipe(const sigset_t *old) {
    sigset_t pending;
    sigemptyset(&pending);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1 && sigismember(old, SIGPIPE) == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}
