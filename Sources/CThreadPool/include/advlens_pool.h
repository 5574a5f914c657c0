// A pool of helper threads that wait for the next parallel region by spinning briefly
// before they sleep, for TensorEngine's `Parallel`.
//
// Why not Dispatch's concurrentPerform: a ResNet-18 attack step runs hundreds of short
// regions (one per layer and pass), and waking a sleeping Dispatch worker for each left the
// second core idle for tens of microseconds every time: 15% of a PGD call's core time. Helpers
// here spin for a moment after each region, so the next one starts at once (yielding the core
// now and then, in case they share it with the thread they wait for); then they sleep.
#ifndef ADVLENS_POOL_H
#define ADVLENS_POOL_H

/// One task: `task` in 0..<tasks, run by worker `worker` (0: the calling thread).
typedef void (*advlens_pool_task)(void *context, int task, int worker);

/// Runs fn(context, t, w) for every t in 0..<tasks on the calling thread (worker 0) and up to
/// workers - 1 helpers (workers 1 ...), tasks handed out in order from a shared counter; no two
/// calls with the same worker overlap. Returns when every task has finished. Returns -1 without
/// running anything when another region holds the pool (the caller then runs the tasks its
/// own way), 0 otherwise.
int advlens_pool_run(int workers, int tasks, advlens_pool_task fn, void *context);

#endif
