/*
 * libebm's worker threads. A job is a number of independent tasks. The
 * calling thread and the workers claim tasks one at a time until none is
 * left, and the call returns when every claimed task has finished.
 *
 * The caller never waits for a worker that has not claimed a task: if the
 * operating system has not scheduled a worker yet (on a busy machine), the
 * caller runs the remaining tasks itself. That keeps a preempted worker from
 * stalling every parallel step for a whole scheduler time slice.
 */
#ifndef EBM_POOL_H
#define EBM_POOL_H

#include <stddef.h>

typedef void (*ebm_task_fn)(void *context, size_t task);

/* Runs task(context, t) for every t < tasks on up to `threads` threads
 * (the caller included) and returns when all have finished. Starts or
 * stops workers when `threads` differs from the previous call. Not
 * reentrant: a task must not call it. Calls from different application
 * threads are serialised. */
void ebm_pool_run(int threads, size_t tasks, ebm_task_fn task,
                  void *context);

#endif /* EBM_POOL_H */
