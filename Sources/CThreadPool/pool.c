// See include/advlens_pool.h. Each helper has its own slot: the region's caller stores a job in
// the slots of the helpers it uses, a helper runs tasks of the job in its slot and clears the
// slot when it has no more, and the caller returns once all those slots are clear. A helper
// spins on its slot for SPIN_NS after a job, then sleeps on its condition variable; the caller
// wakes it only when it has said it sleeps (seq_cst on both sides, so one of them sees the
// other's store).
//
// Both spins (a helper's for its next job, the caller's for its helpers to finish) yield the
// core every 64 pauses. Without that, a helper woken onto the core its caller runs on spun
// there until the next scheduler tick while the caller waited for the core: after an idle
// spell (a 50 ms pause between requests) one-image ResNet-18-32 forwards that take 0.6 ms took
// 2.5-8 ms, for tens of calls, until the load balancer moved one of the two.
#include "advlens_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define PAUSE() _mm_pause()
#else
#define PAUSE() ((void)0)
#endif

#define MAX_HELPERS 63
#define SPIN_NS 200000L   /* 0.2 ms: longer than the serial work between a pass's regions */

typedef struct {
    advlens_pool_task fn;
    void *context;
    int tasks;
    atomic_int next;
} job_t;

typedef struct {
    _Atomic(job_t *) slot;
    atomic_int sleeping;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    int worker;
} helper_t;

static helper_t helpers[MAX_HELPERS];
static int started = 0;   /* helpers created so far; guarded by start_lock */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_flag busy = ATOMIC_FLAG_INIT;

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/// One pause of a spin; every 64th also yields the core (see above). Returns whether it yielded.
static inline int pause_and_yield(int *spins) {
    PAUSE();
    if (++*spins % 64 != 0) return 0;
    sched_yield();
    return 1;
}

static void run_tasks(job_t *job, int worker) {
    for (;;) {
        int t = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (t >= job->tasks) break;
        job->fn(job->context, t, worker);
    }
}

static void *helper_main(void *arg) {
    helper_t *h = arg;
    for (;;) {
        job_t *job = atomic_load_explicit(&h->slot, memory_order_acquire);
        if (!job) {
            long until = now_ns() + SPIN_NS;
            int spins = 0;
            while (!(job = atomic_load_explicit(&h->slot, memory_order_acquire))) {
                if (pause_and_yield(&spins) && now_ns() > until) break;
            }
        }
        if (!job) {
            pthread_mutex_lock(&h->mutex);
            atomic_store(&h->sleeping, 1);
            while (!(job = atomic_load(&h->slot))) pthread_cond_wait(&h->wake, &h->mutex);
            atomic_store(&h->sleeping, 0);
            pthread_mutex_unlock(&h->mutex);
        }
        run_tasks(job, h->worker);
        atomic_store_explicit(&h->slot, NULL, memory_order_release);
    }
    return NULL;
}

/// Starts helpers up to `count` (never more than MAX_HELPERS); returns how many exist.
static int ensure_helpers(int count) {
    if (count > MAX_HELPERS) count = MAX_HELPERS;
    pthread_mutex_lock(&start_lock);
    while (started < count) {
        helper_t *h = &helpers[started];
        atomic_init(&h->slot, NULL);
        atomic_init(&h->sleeping, 0);
        pthread_mutex_init(&h->mutex, NULL);
        pthread_cond_init(&h->wake, NULL);
        h->worker = started + 1;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 8u << 20);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        int failed = pthread_create(&thread, &attr, helper_main, h);
        pthread_attr_destroy(&attr);
        if (failed) break;
        started++;
    }
    int have = started;
    pthread_mutex_unlock(&start_lock);
    return have;
}

int advlens_pool_run(int workers, int tasks, advlens_pool_task fn, void *context) {
    if (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) return -1;
    int wanted = workers - 1 < tasks - 1 ? workers - 1 : tasks - 1;
    int used = wanted > 0 ? ensure_helpers(wanted) : 0;
    if (used > wanted) used = wanted;
    job_t job = {fn, context, tasks, 0};
    for (int i = 0; i < used; i++) {
        helper_t *h = &helpers[i];
        atomic_store(&h->slot, &job);
        if (atomic_load(&h->sleeping)) {
            pthread_mutex_lock(&h->mutex);
            pthread_cond_signal(&h->wake);
            pthread_mutex_unlock(&h->mutex);
        }
    }
    run_tasks(&job, 0);
    for (int i = 0; i < used; i++) {
        int spins = 0;
        while (atomic_load_explicit(&helpers[i].slot, memory_order_acquire)) pause_and_yield(&spins);
    }
    atomic_flag_clear_explicit(&busy, memory_order_release);
    return 0;
}
