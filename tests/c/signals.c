/* A signal storm from C: on each of 2 threads a per-thread timer signal at
 * 10 kHz (timer_create, SIGEV_THREAD_ID) whose handler runs an inline memb
 * read section and queues a callback with krcu_call_rcu_nolock, while the
 * threads run read sections, synchronize, call_rcu and kfree_rcu. Pass: no
 * deadlock (alarm() kills a hung run), and after the barriers every
 * callback queued by a handler has run exactly once. Argument: seconds. */
#define _GNU_SOURCE
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

static void node_done(struct krcu_head *h)
{
    atomic_fetch_add(&((struct node *)h)->runs, 1);
}

static void on_tick(int sig)
{
    (void)sig;
    if (!self)
        return;
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
}

struct kobj {
    struct krcu_ptr rcu;
    long v;
};

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
    printf("c signals: %ld handler read sections, %ld handler callbacks, %ld not run exactly once, loops %ld+%ld\n",
           atomic_load(&handler_sections), queued, bad, workers[0].loops, workers[1].loops);
    return bad == 0 && queued > 0 ? 0 : 1;
}
