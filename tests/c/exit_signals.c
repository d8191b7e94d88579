/* A profiler's timer on threads that exit: each short-lived thread arms a
 * 20 us per-thread timer (SIGEV_THREAD_ID) whose handler runs an inline
 * memb read section and the _nolock allocator, registers, reads, and exits
 * with the timer still firing through its exit; the main thread deletes
 * the timers after the joins. Pass: no deadlock, no crash (alarm() kills a
 * hung run), and grace periods still complete. Built with -std=c11 -Wall
 * -Wextra -Werror. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "krcu.h"
#include "check.h"

static long value = 7;
static long *_Atomic shared = &value;
static atomic_long handled;
static __thread volatile sig_atomic_t handled_here;

static void on_timer(int sig)
{
    (void)sig;
    krcu_read_lock();
    long *p = krcu_dereference(shared);
    CHECK(*p == 7);
    krcu_read_unlock();
    void *obj = krcu_kmalloc_nolock(48);
    if (obj)
        krcu_kfree_nolock(obj);
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    handled_here = 1;
}

#define THREADS 400
static timer_t timers[THREADS];

static void *short_lived(void *arg)
{
    long i = (long)arg;
    /* Registered before any handler that reads may run on the thread (a
     * registration takes a lock and allocates, which a handler must not
     * do); krcu keeps it registered until its exit, where it blocks
     * signals before it unregisters. */
    krcu_register_thread();
    krcu_prepare_thread();
    struct sigevent sev = {0};
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN + 2;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &timers[i]) == 0);
    struct itimerspec spec = {{0, 20000}, {0, 20000}};
    CHECK(timer_settime(timers[i], 0, &spec, NULL) == 0);
    /* Read until the timer has interrupted this thread at least once (at
     * most 50 ms), so that its signals do land on the thread's life and,
     * with luck, on its exit. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        for (int k = 0; k < 50; k++) {
            krcu_read_lock();
            CHECK(*krcu_dereference(shared) == 7);
            krcu_read_unlock();
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ns = (now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec);
        if (handled_here || ns > 50 * 1000000L)
            break;
    }
    /* Exits registered: krcu unregisters it at thread exit, while the
     * timer still fires. */
    return NULL;
}

int main(void)
{
    alarm(60);
    struct sigaction sa = {0};
    sa.sa_handler = on_timer;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGRTMIN + 2, &sa, NULL) == 0);
    krcu_prepare_thread();
    for (long i = 0; i < THREADS; i += 4) {
        pthread_t t[4];
        for (long j = 0; j < 4; j++)
            CHECK(pthread_create(&t[j], NULL, short_lived, (void *)(i + j)) == 0);
        for (long j = 0; j < 4; j++)
            CHECK(pthread_join(t[j], NULL) == 0);
        for (long j = 0; j < 4; j++)
            timer_delete(timers[i + j]);
    }
    krcu_synchronize_rcu();
    krcu_kvfree_rcu_barrier();
    CHECK(atomic_load(&handled) > 0);
    return 0;
}
