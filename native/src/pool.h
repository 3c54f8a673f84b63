// A small pool of worker threads for the kernels: parallel_for hands out tasks to the calling thread and the workers.
#pragma once

namespace tg {

typedef void (*TaskFn)(void* context, long task);

/**
 * Runs fn(context, t) for every t in [0, tasks), on the calling thread and on the pool's workers, and returns when all
 * are done. Tasks are claimed one at a time from a shared counter, so a worker that is slow to wake (or not scheduled
 * on a busy machine) only means the caller runs more of them itself: never slower than serial by more than one task.
 * Runs serially when the pool has one thread, when tasks < 2, or when another thread is using the pool at the moment
 * (Node worker threads share the addon). fn must not throw.
 */
void parallel_for(long tasks, TaskFn fn, void* context);

/** Threads parallel_for uses, the caller included: TRACEGRAD_NATIVE_THREADS, else the CPU count (at most 8). */
int pool_threads();

/** Sets that count (1 = serial; capped at 64); workers start on the next parallel_for that needs them. */
void set_pool_threads(int n);

}  // namespace tg
