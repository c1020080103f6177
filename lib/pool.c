/*
 * The worker threads behind ebm_gemm and ebm_parallel_for (see pool.h).
 *
 * A job is published by storing a new generation number in the high half
 * of `claim`; its low half counts the tasks claimed so far. Threads claim a
 * task with a compare-and-swap that also checks the generation, so a
 * worker that wakes up late can never claim a task of a newer job with the
 * details of an older one. Idle workers spin briefly, then sleep on a
 * condition variable; the caller wakes them only if one is asleep.
 */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long an idle worker spins before it sleeps, and how long the caller
 * spins for the last tasks before it yields the processor. Steps of
 * training are a few hundred microseconds apart at most, so spinning
 * workers usually catch the next job without a system call. */
#define WORKER_SPIN_NS 200000
#define CALLER_SPIN_NS 50000

struct pool {
    pthread_mutex_t run_lock;   /* one job at a time */
    pthread_mutex_t sleep_lock; /* with `wake`, for sleeping workers */
    pthread_cond_t wake;
    pthread_t *threads;
    int workers;   /* running */
    int requested; /* threads asked for in the last call, caller included */

    _Atomic(ebm_task_fn) task;
    _Atomic(void *) context;
    _Atomic size_t tasks;
    _Atomic uint64_t claim;     /* generation << 32 | tasks claimed */
    _Atomic size_t finished;    /* tasks of the current job finished */
    _Atomic int sleepers;
    _Atomic bool stop;
};

static struct pool pool = {
    .run_lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static uint64_t now_ns(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint32_t generation_of(uint64_t claim)
{
    return (uint32_t)(claim >> 32);
}

/* Claims and runs tasks of job `generation` until none is left or a newer
 * job has started. */
static void work_on(uint32_t generation)
{
    ebm_task_fn task = atomic_load(&pool.task);
    void *context = atomic_load(&pool.context);
    size_t tasks = atomic_load(&pool.tasks);

    for (;;) {
        uint64_t claim = atomic_load(&pool.claim);
        size_t next = (uint32_t)claim;

        if (generation_of(claim) != generation || next >= tasks)
            return;
        if (atomic_compare_exchange_weak(&pool.claim, &claim, claim + 1)) {
            task(context, next);
            atomic_fetch_add(&pool.finished, 1);
        }
    }
}

/* Waits until a job newer than `seen` is published or the pool stops, and
 * returns the current generation. */
static uint32_t wait_for_job(uint32_t seen)
{
    uint64_t start = now_ns();
    uint32_t generation;
    unsigned spins = 0;

    while (generation_of(atomic_load(&pool.claim)) == seen &&
           !atomic_load(&pool.stop)) {
        CPU_RELAX();
        if (++spins % 256 == 0 && now_ns() - start > WORKER_SPIN_NS) {
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while (generation_of(atomic_load(&pool.claim)) == seen &&
                   !atomic_load(&pool.stop))
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
    }
    generation = generation_of(atomic_load(&pool.claim));
    return generation;
}

static void *worker_main(void *unused)
{
    uint32_t seen = generation_of(atomic_load(&pool.claim));

    (void)unused;
    for (;;) {
        seen = wait_for_job(seen);
        if (atomic_load(&pool.stop))
            return NULL;
        work_on(seen);
    }
}

static void wake_workers(void)
{
    pthread_mutex_lock(&pool.sleep_lock);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_lock);
}

static void stop_workers(void)
{
    atomic_store(&pool.stop, true);
    wake_workers();
    for (int i = 0; i < pool.workers; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.workers = 0;
    atomic_store(&pool.stop, false);
}

/* Starts `count` workers. If the system refuses threads or memory, runs
 * with as many as it got: the results do not depend on the count. */
static void start_workers(int count)
{
    pool.threads = malloc((size_t)count * sizeof(*pool.threads));
    if (pool.threads == NULL)
        return;
    while (pool.workers < count &&
           pthread_create(&pool.threads[pool.workers], NULL, worker_main,
                          NULL) == 0)
        pool.workers++;
}

/* Waits until every task of the job has finished. */
static void wait_for_tasks(size_t tasks)
{
    uint64_t start = now_ns();
    unsigned spins = 0;

    while (atomic_load(&pool.finished) < tasks) {
        CPU_RELAX();
        if (++spins % 256 == 0 && now_ns() - start > CALLER_SPIN_NS)
            sched_yield();
    }
}

void ebm_pool_run(int threads, size_t tasks, ebm_task_fn task,
                  void *context)
{
    uint32_t generation;

    if (tasks == 0)
        return;
    pthread_mutex_lock(&pool.run_lock);
    if (threads != pool.requested) {
        stop_workers();
        if (threads > 1)
            start_workers(threads - 1);
        pool.requested = threads;
    }
    /* The low half of `claim` counts tasks, so a job has fewer than 2^32;
     * libebm's jobs have at most a few thousand. */
    if (pool.workers == 0 || tasks == 1 || tasks >= UINT32_MAX) {
        for (size_t t = 0; t < tasks; t++)
            task(context, t);
        pthread_mutex_unlock(&pool.run_lock);
        return;
    }

    atomic_store(&pool.task, task);
    atomic_store(&pool.context, context);
    atomic_store(&pool.tasks, tasks);
    atomic_store(&pool.finished, 0);
    generation = generation_of(atomic_load(&pool.claim)) + 1;
    atomic_store(&pool.claim, (uint64_t)generation << 32);
    if (atomic_load(&pool.sleepers) > 0)
        wake_workers();

    work_on(generation);
    wait_for_tasks(tasks);
    pthread_mutex_unlock(&pool.run_lock);
}

/* Joins the workers when the library is unloaded or the process exits. */
__attribute__((destructor)) static void pool_shutdown(void)
{
    pthread_mutex_lock(&pool.run_lock);
    stop_workers();
    pool.requested = 0;
    pthread_mutex_unlock(&pool.run_lock);
}
