/* The C side of the side-by-side benchmark: the same workloads as
 * benches/side_by_side/, printed as "metric value unit" lines. One source,
 * built against liburcu (memb, -DFLAVOR_QSBR for qsbr, -DLIBURCU_CALL for
 * its exported read side instead of the _LGPL_SOURCE inline one) and against
 * libkrcu's C API (-DUSE_KRCU; add -DKRCU_NO_INLINE for the exported read
 * side).
 * Usage: driver read|sync|defer|kfree|update|scan THREADS [DEFER_COUNT] */
#define _GNU_SOURCE
#if !defined(USE_KRCU) && !defined(LIBURCU_CALL)
#define _LGPL_SOURCE /* inline read side, as liburcu users get it */
#endif
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(USE_KRCU)
#include "krcu.h"
#define F(x) krcu_##x
#define krcu_barrier krcu_rcu_barrier
#define rcu_head krcu_head
#define rcu_dereference(p) krcu_dereference(p)
#define rcu_xchg_pointer(pp, v) krcu_xchg_pointer(pp, v)
#define caa_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#elif defined(FLAVOR_QSBR)
#include <urcu/urcu-qsbr.h>
#define F(x) urcu_qsbr_##x
#else
#include <urcu/urcu-memb.h>
#define F(x) urcu_memb_##x
#endif

struct obj {
    struct rcu_head head;
    long data[6];
};

#ifdef USE_KRCU
/* The kfree workload's object: an 8-byte link and data, 64 bytes. */
struct kobj {
    struct krcu_ptr rcu;
    long data[7];
};
#endif

static struct obj *shared;
static volatile int stop;
static int running; /* readers registered and looping */
static const char *workload;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct reader_result {
    double ns_per_read;
    long sum;
};

static void *reader(void *arg)
{
    struct reader_result *res = arg;
    long sum = 0, iters = 0;
    F(register_thread)();
    __atomic_fetch_add(&running, 1, __ATOMIC_RELEASE);
    double t0 = now_s();
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 1024; i++) {
            F(read_lock)();
            struct obj *p = rcu_dereference(shared);
            sum += p->data[0];
            F(read_unlock)();
        }
        iters += 1024;
#ifdef FLAVOR_QSBR
        F(quiescent_state)();
#endif
    }
    double t1 = now_s();
#ifdef FLAVOR_QSBR
    F(thread_offline)();
#endif
    F(unregister_thread)();
    res->ns_per_read = (t1 - t0) * 1e9 / (double)iters;
    res->sum = sum;
    return NULL;
}

static void free_obj(struct rcu_head *h)
{
    free(caa_container_of(h, struct obj, head));
}

/* malloc and a store to every field, as the Rust workloads' Box::new: not
 * malloc + memset, which GCC turns into calloc, a different allocator path
 * (glibc 2.36's calloc bypasses the thread cache). */
static struct obj *new_obj(long v)
{
    struct obj *o = malloc(sizeof(*o));
    if (!o)
        abort();
    memset(&o->head, 0, sizeof(o->head));
    o->data[0] = v;
    for (int i = 1; i < 6; i++)
        o->data[i] = 0;
    return o;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* scan: THREADS registered threads that stay idle (memb: outside any read
 * section; qsbr: offline) while the main thread measures synchronize. */
static pthread_barrier_t scan_ready, scan_done;

static void *idle_thread(void *arg)
{
    (void)arg;
    F(register_thread)();
    F(read_lock)();
    F(read_unlock)();
#ifdef FLAVOR_QSBR
    F(thread_offline)();
#endif
    pthread_barrier_wait(&scan_ready);
    pthread_barrier_wait(&scan_done);
#ifdef FLAVOR_QSBR
    F(thread_online)();
#endif
    F(unregister_thread)();
    return NULL;
}

static void sync_latencies(void);

static int scan(int threads)
{
    pthread_t *tids = calloc(threads, sizeof *tids);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 << 10);
    pthread_barrier_init(&scan_ready, NULL, threads + 1);
    pthread_barrier_init(&scan_done, NULL, threads + 1);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tids[i], &attr, idle_thread, NULL))
            abort();
    pthread_barrier_wait(&scan_ready);
    sync_latencies();
    pthread_barrier_wait(&scan_done);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    return 0;
}

/* synchronize_rcu back to back for 0.3 s: the median and p99 latency. */
static void sync_latencies(void)
{
    static double lat[1 << 16];
    int n = 0;
    double end = now_s() + 0.3;
    while (n < (1 << 16) && now_s() < end) {
        double t0 = now_s();
        F(synchronize_rcu)();
        lat[n++] = (now_s() - t0) * 1e6;
    }
    qsort(lat, n, sizeof(lat[0]), cmp_double);
    printf("sync_median_us %.3f us\n", lat[n / 2]);
    printf("sync_p99_us %.3f us\n", lat[(int)(n * 0.99)]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s read|sync|defer|kfree|update|scan THREADS [DEFER_COUNT]\n", argv[0]);
        return 2;
    }
    workload = argv[1];
    if (!strcmp(workload, "scan"))
        return scan(atoi(argv[2]));
    int threads = atoi(argv[2]);
    if (threads < 0 || threads > 16)
        threads = 16;
    long defer_count = argc > 3 ? atol(argv[3]) : 10000000L;
    shared = new_obj(1);
    pthread_t tids[16];
    struct reader_result res[16];
    F(register_thread)();
#ifdef FLAVOR_QSBR
    /* The updater is not a reader: stay offline so its own synchronize and
     * call_rcu do not wait for it. */
    F(thread_offline)();
#endif
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, reader, &res[i]);
    /* Measure only once every reader is registered and looping. */
    while (__atomic_load_n(&running, __ATOMIC_ACQUIRE) < threads)
        sched_yield();

    if (!strcmp(workload, "read")) {
        struct timespec d = {0, 300 * 1000 * 1000};
        nanosleep(&d, NULL);
    } else if (!strcmp(workload, "sync")) {
        sync_latencies();
#ifdef USE_KRCU
    } else if (!strcmp(workload, "kfree")) {
        /* krcu_kmalloc(64) + krcu_kfree_rcu through a krcu_ptr, as the
         * Rust krcu-kmalloc workload. */
        double t0 = now_s();
        for (long i = 0; i < defer_count; i++) {
            struct kobj *o = krcu_kmalloc(sizeof *o);
            if (!o)
                abort();
            o->data[0] = i;
            krcu_kfree_rcu(o, rcu);
        }
        double t1 = now_s();
        krcu_kvfree_rcu_barrier();
        double t2 = now_s();
        printf("calls_per_sec %.0f 1/s\n", defer_count / (t1 - t0));
        printf("barrier_ms %.3f ms\n", (t2 - t1) * 1e3);
        printf("link_bytes_in_object %zu B\n", sizeof(struct krcu_ptr));
#endif
    } else if (!strcmp(workload, "defer") || !strcmp(workload, "kfree")) {
        double t0 = now_s();
        for (long i = 0; i < defer_count; i++) {
            struct obj *o = new_obj(i);
            F(call_rcu)(&o->head, free_obj);
        }
        double t1 = now_s();
        F(barrier)();
        double t2 = now_s();
        printf("calls_per_sec %.0f 1/s\n", defer_count / (t1 - t0));
        printf("barrier_ms %.3f ms\n", (t2 - t1) * 1e3);
        printf("link_bytes_in_object %zu B\n", sizeof(struct rcu_head));
    } else if (!strcmp(workload, "update")) {
        long n = 0;
        double t0 = now_s(), end = t0 + 0.5;
        while (now_s() < end) {
            for (int i = 0; i < 1024; i++) {
                struct obj *o = new_obj(n + i);
                struct obj *old = rcu_xchg_pointer(&shared, o);
                F(call_rcu)(&old->head, free_obj);
            }
            n += 1024;
        }
        double t1 = now_s();
        printf("updates_per_sec %.0f 1/s\n", n / (t1 - t0));
    } else {
        fprintf(stderr, "unknown workload %s\n", workload);
        return 2;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    double ns = 0;
    long sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        ns += res[i].ns_per_read;
        sum += res[i].sum;
    }
    if (!strcmp(workload, "read"))
        printf("ns_per_read %.4f ns\n", ns / threads);
    fprintf(stderr, "checksum %ld\n", sum);
    F(barrier)();
    return 0;
}
