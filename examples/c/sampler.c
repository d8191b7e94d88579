/* A sampling profiler's core, the case krcu's _nolock calls exist for: a
 * per-thread timer signal interrupts the worker anywhere (inside malloc,
 * inside krcu, holding a lock) and its handler records a sample in memory
 * from krcu_kmalloc_nolock, publishes it as the thread's latest sample, and
 * frees the one it replaces with krcu_kfree_rcu_nolock. A reader thread
 * reads the latest sample under krcu_read_lock at any time.
 *
 *   make -C examples/c && ./examples/c/sampler
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <krcu.h>

struct sample {
    struct krcu_ptr rcu; /* 8 bytes: all kfree_rcu needs */
    unsigned long seq;
    unsigned long work_done;
};

static struct sample *_Atomic latest;
static atomic_ulong samples, dropped, work;
static atomic_int stop;

static void on_tick(int sig)
{
    (void)sig;
    int saved_errno = errno;
    struct sample *s = krcu_kmalloc_nolock(sizeof *s);
    if (!s) {
        /* Nothing at hand without a lock: drop this sample, never wait. */
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
        errno = saved_errno;
        return;
    }
    s->seq = atomic_fetch_add_explicit(&samples, 1, memory_order_relaxed) + 1;
    s->work_done = atomic_load_explicit(&work, memory_order_relaxed);
    struct sample *old = krcu_xchg_pointer(&latest, s);
    krcu_kfree_rcu_nolock(old, rcu); /* NULL is a no-op */
    errno = saved_errno;
}

/* The profiled thread: ordinary work that allocates and frees (with libc
 * and with krcu), interrupted 5000 times a second. */
static void *worker(void *arg)
{
    (void)arg;
    krcu_prepare_thread(); /* what the handler's _nolock calls use */
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = gettid();
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0) {
        perror("timer_create");
        exit(1);
    }
    struct itimerspec its = {{0, 200000}, {0, 200000}};
    timer_settime(t, 0, &its, NULL);
    while (!atomic_load(&stop)) {
        void *a = malloc(100);
        void *b = krcu_kmalloc(64);
        memset(a, 1, 100);
        memset(b, 2, 64);
        krcu_kfree(b);
        free(a);
        atomic_fetch_add_explicit(&work, 1, memory_order_relaxed);
    }
    timer_delete(t);
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, NULL);

    pthread_t w;
    pthread_create(&w, NULL, worker, NULL);
    unsigned long reads = 0, last_seq = 0;
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += 1;
    do {
        krcu_read_lock();
        struct sample *s = krcu_dereference(latest);
        if (s) {
            if (s->seq < last_seq) {
                fprintf(stderr, "sample sequence went backwards\n");
                return 1;
            }
            last_seq = s->seq;
        }
        krcu_read_unlock();
        reads++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec < end.tv_sec ||
             (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
    atomic_store(&stop, 1);
    pthread_join(w, NULL);

    krcu_kfree_rcu(krcu_xchg_pointer(&latest, NULL), rcu);
    krcu_kvfree_rcu_barrier(); /* covers what the handler deferred, too */
    struct krcu_stats st;
    krcu_stats_get(&st);
    printf("samples: %lu taken, %lu dropped; reader: %lu reads, last sample %lu\n",
           atomic_load(&samples), atomic_load(&dropped), reads, last_seq);
    printf("nolock paths: kfree_rcu %llu in place, %llu deferred; pending after the barrier: %llu\n",
           (unsigned long long)st.kfree_rcu_nolock, (unsigned long long)st.kfree_rcu_deferred,
           (unsigned long long)st.objects_pending);
    return atomic_load(&samples) > 0 && st.objects_pending == 0 ? 0 : 1;
}
