/* A signal storm from C: on each of 2 threads a per-thread timer signal at
 * 10 kHz (timer_create, SIGEV_THREAD_ID) whose handler runs an inline memb
 * read section, queues a callback with krcu_call_rcu_nolock, and allocates
 * with krcu_kmalloc_nolock, freeing with krcu_kfree_rcu_nolock and
 * krcu_kfree_nolock, while the threads run read sections, synchronize,
 * call_rcu and kfree_rcu. Pass: no deadlock (alarm() kills a hung run);
 * after the barriers every callback queued by a handler has run exactly
 * once, nothing waits for a grace period and the deferred list is empty.
 * Argument: seconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "krcu.h"

/* Live values are loop counts (small); retired ones are marked -1 before
 * they are freed, and freed memory may be poisoned (0x6b bytes): a reader
 * (thread or handler) that sees a huge value saw a freed object. */
#define FREED(v) ((unsigned long)(v) > (1ul << 40))

#define POOL 400000 /* handler nodes per thread: more than 10 kHz x 20 s */

struct node {
    struct krcu_head head;
    _Atomic int runs;
};

struct worker {
    struct node *pool;
    atomic_long used; /* handler nodes queued */
    long loops;
};

static struct worker workers[2];
static __thread struct worker *self;
static long *_Atomic shared;
static atomic_int stop;
static atomic_long handler_sections;
static atomic_long nolock_tries, nolock_nulls;

static void node_done(struct krcu_head *h)
{
    atomic_fetch_add(&((struct node *)h)->runs, 1);
}

struct kobj {
    struct krcu_ptr rcu;
    long v;
};

static void *try_alloc(size_t size)
{
    atomic_fetch_add_explicit(&nolock_tries, 1, memory_order_relaxed);
    void *p = krcu_kmalloc_nolock(size);
    if (!p)
        atomic_fetch_add_explicit(&nolock_nulls, 1, memory_order_relaxed);
    return p;
}

static void on_tick(int sig)
{
    (void)sig;
    if (!self)
        return;
    int saved_errno = errno; /* krcu_kmalloc_nolock sets ENOMEM on failure */
    struct kobj *k = try_alloc(sizeof *k);
    if (k) {
        k->v = 1;
        krcu_kfree_rcu_nolock(k, rcu);
    }
    krcu_kfree_nolock(try_alloc(24));
    krcu_read_lock();
    long *p = krcu_dereference(shared);
    if (p && FREED(*p))
        abort();
    krcu_read_unlock();
    atomic_fetch_add_explicit(&handler_sections, 1, memory_order_relaxed);
    long i = atomic_load_explicit(&self->used, memory_order_relaxed);
    if (i < POOL) {
        krcu_call_rcu_nolock(&self->pool[i].head, node_done);
        atomic_store_explicit(&self->used, i + 1, memory_order_relaxed);
    }
    errno = saved_errno;
}

/* Marks a retired value, then frees it. */
static void free_long(struct krcu_head *h)
{
    *(long *)(h + 1) = -1;
    krcu_kfree(h);
}

static void *run(void *arg)
{
    self = arg;
    krcu_read_lock(); /* first use registers: before the timer fires */
    krcu_read_unlock();
    krcu_prepare_thread(); /* the slab state the handler's _nolock calls use */
    struct sigevent sev = {0};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
        abort();
    struct itimerspec its = {{0, 100000}, {0, 100000}}; /* 10 kHz */
    timer_settime(t, 0, &its, NULL);
    while (!atomic_load(&stop)) {
        for (int i = 0; i < 100; i++) {
            krcu_read_lock();
            long *p = krcu_dereference(shared);
            if (p && FREED(*p))
                abort();
            krcu_read_unlock();
        }
        /* A krcu_head, then the value readers check. */
        struct krcu_head *fresh = krcu_kmalloc(sizeof(struct krcu_head) + sizeof(long));
        *(long *)(fresh + 1) = self->loops;
        long *old = krcu_xchg_pointer(&shared, (long *)(fresh + 1));
        if (old)
            krcu_call_rcu((struct krcu_head *)old - 1, free_long);
        struct kobj *k = krcu_kmalloc(sizeof *k);
        krcu_kfree_rcu(k, rcu);
        if (self->loops++ % 64 == 0)
            krcu_synchronize_rcu();
    }
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(t, 0, &off, NULL);
    timer_delete(t);
    return NULL;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    alarm((unsigned)secs + 60); /* a deadlock fails the run */
    struct sigaction sa = {0};
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN, &sa, NULL);
    for (int i = 0; i < 2; i++)
        workers[i].pool = calloc(POOL, sizeof(struct node));
    /* The flavor is used once before any handler may queue on it. */
    krcu_rcu_barrier();
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, run, &workers[i]);
    struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    krcu_rcu_barrier();
    krcu_kvfree_rcu_barrier();
    long queued = 0, bad = 0;
    for (int w = 0; w < 2; w++) {
        long used = atomic_load(&workers[w].used);
        queued += used;
        for (long i = 0; i < used; i++)
            if (atomic_load(&workers[w].pool[i].runs) != 1)
                bad++;
    }
    struct krcu_stats st;
    krcu_stats_get(&st);
    printf("c signals: %ld handler read sections, %ld handler callbacks, %ld not run exactly once, loops %ld+%ld\n",
           atomic_load(&handler_sections), queued, bad, workers[0].loops, workers[1].loops);
    printf("c signals: kmalloc_nolock %ld, null %ld; kfree_nolock %llu in place, %llu deferred; kfree_rcu_nolock %llu in place, %llu deferred; pending %llu, deferred list %llu\n",
           atomic_load(&nolock_tries), atomic_load(&nolock_nulls),
           (unsigned long long)st.kfree_nolock, (unsigned long long)st.kfree_nolock_deferred,
           (unsigned long long)st.kfree_rcu_nolock, (unsigned long long)st.kfree_rcu_deferred,
           (unsigned long long)st.objects_pending, (unsigned long long)st.deferred_pending);
    int books = st.objects_pending == 0 && st.deferred_pending == 0 &&
                atomic_load(&nolock_tries) > atomic_load(&nolock_nulls);
    return bad == 0 && queued > 0 && books ? 0 : 1;
}
