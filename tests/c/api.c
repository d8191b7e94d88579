/* Every function of krcu's C API contract, called at least once, with its
 * documented effect checked. Built with -std=c11 -Wall -Wextra -Werror. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krcu.h"
#include "check.h"


struct node {
    struct krcu_head head;
    long value;
};

static atomic_int callbacks_run;

static void free_node(struct krcu_head *h)
{
    struct node *n = (struct node *)h; /* head is the first member */
    atomic_fetch_add(&callbacks_run, 1);
    krcu_kfree(n);
}

static void test_version(void)
{
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", KRCU_VERSION_MAJOR, KRCU_VERSION_MINOR,
             KRCU_VERSION_PATCH);
    CHECK(strcmp(krcu_version(), expect) == 0);
    CHECK(strcmp(krcu_version(), KRCU_VERSION_STRING) == 0);
}

static void test_memb(void)
{
    krcu_register_thread();
    krcu_read_lock();
    krcu_read_lock(); /* nests */
    krcu_read_unlock();
    krcu_read_unlock();
    krcu_memb_read_lock();
    krcu_memb_read_unlock();
    printf("membarrier in force: %d\n", (int)krcu_uses_membarrier());
    CHECK(krcu_uses_membarrier() == krcu_memb_uses_membarrier());

    /* Publication and replacement. */
    static struct node *shared;
    struct node *a = krcu_kmalloc(sizeof *a);
    CHECK(a);
    a->value = 1;
    krcu_assign_pointer(shared, a);
    krcu_read_lock();
    struct node *seen = krcu_dereference(shared);
    CHECK(seen == a && seen->value == 1);
    krcu_read_unlock();
    struct node *b = krcu_kmalloc(sizeof *b);
    b->value = 2;
    struct node *old = krcu_xchg_pointer(&shared, b);
    CHECK(old == a);
    krcu_synchronize_rcu();
    krcu_memb_synchronize_rcu();
    krcu_kfree(old);

    /* call_rcu and the barrier. */
    int before = atomic_load(&callbacks_run);
    krcu_call_rcu(&b->head, free_node);
    struct node *c = krcu_kmalloc(sizeof *c);
    krcu_call_rcu_nolock(&c->head, free_node);
    struct node *d = krcu_kmalloc(sizeof *d);
    krcu_memb_call_rcu(&d->head, free_node);
    krcu_rcu_barrier();
    krcu_memb_rcu_barrier();
    CHECK(atomic_load(&callbacks_run) == before + 3);

    /* Polled cookies. */
    krcu_gp_cookie s = krcu_get_state_synchronize_rcu();
    krcu_gp_cookie p = krcu_start_poll_synchronize_rcu();
    krcu_cond_synchronize_rcu(p);
    CHECK(krcu_poll_state_synchronize_rcu(p));
    krcu_cond_synchronize_rcu(s);
    CHECK(krcu_poll_state_synchronize_rcu(s));
    krcu_gp_cookie m = krcu_memb_start_poll_synchronize_rcu();
    krcu_memb_cond_synchronize_rcu(m);
    CHECK(krcu_memb_poll_state_synchronize_rcu(m));
    CHECK(krcu_memb_poll_state_synchronize_rcu(krcu_memb_get_state_synchronize_rcu()) == 0 ||
          1); /* a fresh cookie may or may not be done: only callable */
    struct node *e = krcu_kmalloc(sizeof *e);
    krcu_memb_call_rcu_nolock(&e->head, free_node);
    krcu_memb_rcu_barrier();
    krcu_memb_register_thread();
    krcu_memb_unregister_thread();
    krcu_unregister_thread();
}

/* Hurried callbacks and expedited grace periods: with a gather longer
 * than the test, a hurried callback runs without a barrier, and an
 * expedited grace period serves the plain one queued before it. */
static void wait_for_callbacks(int n)
{
    for (int i = 0; atomic_load(&callbacks_run) < n; i++) {
        CHECK(i < 50000); /* 50 s */
        usleep(1000);
    }
}

static void test_hurry_and_expedited(void)
{
    krcu_set_gather_us(600000000ULL); /* ten minutes */
    krcu_rcu_barrier();
    krcu_qsbr_rcu_barrier();
    int before = atomic_load(&callbacks_run);
    struct node *a = krcu_kmalloc(sizeof *a), *b = krcu_kmalloc(sizeof *b);
    krcu_call_rcu_hurry(&a->head, free_node);
    wait_for_callbacks(before + 1);
    krcu_memb_call_rcu_hurry(&b->head, free_node);
    wait_for_callbacks(before + 2);
    struct node *c = krcu_kmalloc(sizeof *c);
    krcu_call_rcu(&c->head, free_node);
    krcu_synchronize_rcu_expedited();
    wait_for_callbacks(before + 3);
    krcu_memb_synchronize_rcu_expedited();
    krcu_gp_cookie s = krcu_get_state_synchronize_rcu();
    krcu_gp_cookie e = krcu_start_poll_synchronize_rcu_expedited();
    krcu_cond_synchronize_rcu(e);
    CHECK(krcu_poll_state_synchronize_rcu(e) && krcu_poll_state_synchronize_rcu(s));
    krcu_gp_cookie m = krcu_memb_start_poll_synchronize_rcu_expedited();
    krcu_memb_cond_synchronize_rcu(m);
    CHECK(krcu_memb_poll_state_synchronize_rcu(m));

    krcu_qsbr_register_thread();
    struct node *q = krcu_kmalloc(sizeof *q);
    krcu_qsbr_call_rcu_hurry(&q->head, free_node);
    krcu_qsbr_thread_offline();
    wait_for_callbacks(before + 4);
    krcu_qsbr_thread_online();
    krcu_qsbr_synchronize_rcu_expedited(); /* online: offline meanwhile */
    krcu_gp_cookie qe = krcu_qsbr_start_poll_synchronize_rcu_expedited();
    krcu_qsbr_cond_synchronize_rcu(qe);
    CHECK(krcu_qsbr_poll_state_synchronize_rcu(qe));
    krcu_qsbr_unregister_thread();
    krcu_set_gather_us(1000);
}

static void test_qsbr(void)
{
    krcu_qsbr_register_thread();
    krcu_qsbr_read_lock();
    krcu_qsbr_read_unlock();
    krcu_qsbr_quiescent_state();
    krcu_qsbr_thread_offline();
    krcu_qsbr_thread_online();
    /* An online thread may synchronize: krcu takes it offline meanwhile. */
    krcu_qsbr_synchronize_rcu();
    int before = atomic_load(&callbacks_run);
    struct node *a = krcu_kmalloc(sizeof *a), *b = krcu_kmalloc(sizeof *b);
    krcu_qsbr_call_rcu(&a->head, free_node);
    krcu_qsbr_call_rcu_nolock(&b->head, free_node);
    krcu_qsbr_rcu_barrier();
    CHECK(atomic_load(&callbacks_run) == before + 2);
    krcu_gp_cookie s = krcu_qsbr_get_state_synchronize_rcu();
    krcu_gp_cookie p = krcu_qsbr_start_poll_synchronize_rcu();
    krcu_qsbr_cond_synchronize_rcu(p);
    krcu_qsbr_cond_synchronize_rcu(s);
    CHECK(krcu_qsbr_poll_state_synchronize_rcu(p) && krcu_qsbr_poll_state_synchronize_rcu(s));
    krcu_qsbr_unregister_thread();
}

static atomic_int ctors, dtors;
static void ctor(void *obj)
{
    memset(obj, 0x5a, 8);
    atomic_fetch_add(&ctors, 1);
}
static void rcu_dtor(void *obj)
{
    (void)obj;
    atomic_fetch_add(&dtors, 1);
}

struct with_ptr {
    long key;
    struct krcu_ptr rcu;
};
struct with_head {
    struct krcu_head rcu;
    long key;
};

static void test_slab(void)
{
    /* Errors. */
    errno = 0;
    CHECK(krcu_cache_create(NULL, 16, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(krcu_cache_create("zero", 0, NULL) == NULL && errno == EINVAL);
    struct krcu_cache_args bad = {.align = 3};
    errno = 0;
    CHECK(krcu_cache_create("align", 16, &bad) == NULL && errno == EINVAL);
    struct krcu_cache_args flags = {.flags = 0x100};
    errno = 0;
    CHECK(krcu_cache_create("flags", 16, &flags) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(krcu_cache_create("huge", 1 << 20, NULL) == NULL && errno == E2BIG);

    /* A cache with sheaves, a constructor and an rcu destructor. */
    struct krcu_cache_args args = {.align = 16, .sheaf_capacity = 8, .ctor = ctor, .rcu_dtor = rcu_dtor};
    struct krcu_cache *c = krcu_cache_create("c-objects", sizeof(struct with_ptr), &args);
    CHECK(c);
    struct with_ptr *o = krcu_cache_alloc(c);
    CHECK(o && ((uintptr_t)o % 16) == 0);
    CHECK(atomic_load(&ctors) > 0);
    CHECK(krcu_ksize(o) >= sizeof *o);
    CHECK(krcu_ksize((char *)o + 3) == krcu_ksize(o)); /* interior pointers */
    struct with_ptr *o2 = krcu_cache_alloc(c);
    CHECK(krcu_cache_destroy(c) == -EBUSY); /* live objects: refused */
    struct krcu_cache_stats cs;
    CHECK(krcu_cache_stats_get(c, &cs) == 0 && cs.live == 2);
    CHECK(krcu_cache_stats_get(NULL, &cs) == -EINVAL);
    krcu_cache_free(c, o2);
    krcu_cache_free(c, NULL);
    krcu_kfree_rcu(o, rcu); /* the krcu_ptr member */
    krcu_kvfree_rcu_barrier_on_cache(c);
    CHECK(atomic_load(&dtors) == 1);
    CHECK(krcu_cache_destroy(c) == 0);
    CHECK(krcu_cache_destroy(NULL) == -EINVAL);

    /* kmalloc and every deferred-free entry point. */
    struct krcu_stats before, after;
    krcu_stats_get(&before);
    struct with_head *h = krcu_kmalloc(sizeof *h);
    struct with_ptr *p = krcu_kmalloc(sizeof *p);
    void *raw = krcu_kmalloc(100);
    void *big = krcu_kmalloc(100000);
    CHECK(h && p && raw && big);
    CHECK(krcu_ksize(raw) == 128);
    CHECK(((uintptr_t)big % 4096) == 0 && krcu_ksize(big) >= 100000);
    krcu_kfree_rcu(h, rcu); /* the krcu_head member */
    krcu_kvfree_call_rcu_ptr(&p->rcu, p);
    krcu_kvfree_rcu_mightsleep(raw);
    struct with_head *h2 = krcu_kmalloc(sizeof *h2);
    krcu_kvfree_call_rcu(&h2->rcu, h2);
    krcu_kfree(big);
    krcu_kfree(NULL);
    struct with_head *none = NULL;
    krcu_kfree_rcu(none, rcu); /* NULL is a no-op */
    krcu_kvfree_rcu_barrier();
    krcu_stats_get(&after);
    uint64_t freed = (after.kfree_rcu_bulk + after.kfree_rcu_list + after.kfree_rcu_sheaf +
                      after.kfree_rcu_sync_fallback) -
                     (before.kfree_rcu_bulk + before.kfree_rcu_list + before.kfree_rcu_sheaf +
                      before.kfree_rcu_sync_fallback);
    CHECK(freed == 4);
    CHECK(after.objects_pending == 0);
    CHECK(after.gp_completed >= before.gp_completed);
    krcu_stats_get(NULL);
    krcu_trim();
    printf("gp_completed %llu, kfree_rcu freed %llu, bytes mapped %llu\n",
           (unsigned long long)after.gp_completed, (unsigned long long)freed,
           (unsigned long long)after.bytes_mapped);
}

/* The nolock entry points, from an ordinary context (tests/c/signals.c
 * calls them from signal handlers): a first allocation may find no sheaf
 * and asks krcu's helper for one; within a bounded wait one is served. */
static void *nolock_alloc_eventually(struct krcu_cache *c, size_t size)
{
    for (int i = 0; i < 10000; i++) {
        void *o = c ? krcu_cache_alloc_nolock(c) : krcu_kmalloc_nolock(size);
        if (o)
            return o;
        CHECK(errno == ENOMEM);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return NULL;
}

static void test_nolock(void)
{
    krcu_prepare_thread();
    CHECK(krcu_kmalloc_nolock(100000) == NULL && errno == ENOMEM); /* large: never */
    struct krcu_cache_args args = {.sheaf_capacity = 8, .rcu_dtor = rcu_dtor};
    struct krcu_cache *c = krcu_cache_create("nolock", sizeof(struct with_head), &args);
    CHECK(c);
    struct krcu_stats before, after;
    krcu_stats_get(&before);
    int dtors_before = atomic_load(&dtors);
    struct with_ptr *p = nolock_alloc_eventually(NULL, sizeof *p);
    struct with_head *h = nolock_alloc_eventually(c, 0);
    struct with_head *h2 = nolock_alloc_eventually(c, 0);
    void *raw = nolock_alloc_eventually(NULL, 40);
    CHECK(p && h && h2 && raw);
    CHECK(krcu_ksize(raw) == 64);
    krcu_kfree_rcu_nolock(p, rcu); /* the krcu_ptr member */
    krcu_kfree_rcu_nolock(h, rcu); /* the krcu_head member */
    krcu_kfree_call_rcu_nolock((struct krcu_ptr *)&h2->rcu, h2);
    krcu_kfree_nolock(raw);
    krcu_kfree_nolock(NULL);
    struct with_ptr *none = NULL;
    krcu_kfree_rcu_nolock(none, rcu); /* NULL is a no-op */
    krcu_kvfree_rcu_barrier();
    krcu_stats_get(&after);
    CHECK(atomic_load(&dtors) - dtors_before == 2); /* h and h2, after their grace period */
    CHECK(after.kfree_rcu_nolock + after.kfree_rcu_deferred -
              (before.kfree_rcu_nolock + before.kfree_rcu_deferred) == 3);
    CHECK(after.kfree_nolock + after.kfree_nolock_deferred -
              (before.kfree_nolock + before.kfree_nolock_deferred) == 1);
    CHECK(after.nolock_alloc - before.nolock_alloc == 4);
    CHECK(after.deferred_pending == 0 && after.objects_pending == 0);
    CHECK(krcu_cache_destroy(c) == 0);
    printf("nolock: %llu allocations failed before the helper stocked the sheaves\n",
           (unsigned long long)(after.nolock_alloc_failed - before.nolock_alloc_failed));
}

/* The inline read side (the default) and the exported functions work on
 * the same record: they nest across each other, and an explicit
 * unregistration makes the next inline lock register again. Underneath:
 * the thread's word starts unregistered, is marked so again when the
 * registration ends, and holds snapshots of the counter group this program
 * reads (its own copy of krcu__memb_gp_v3, by copy relocation, unless
 * linked statically), which must be the one krcu's grace periods advance. */
static void test_read_side_forms(void)
{
    CHECK(krcu__memb_word_v3 == KRCU__UNREGISTERED);
    krcu_read_lock();
    CHECK(krcu__memb_word_v3 == __atomic_load_n(&krcu__memb_gp_v3.ctr, __ATOMIC_RELAXED));
    krcu_read_unlock();
    CHECK((krcu__memb_word_v3 & KRCU__NEST_MASK) == 0);
    uint64_t before = __atomic_load_n(&krcu__memb_gp_v3.ctr, __ATOMIC_RELAXED);
    krcu_synchronize_rcu();
    CHECK(__atomic_load_n(&krcu__memb_gp_v3.ctr, __ATOMIC_RELAXED) != before);
    CHECK(__atomic_load_n(&krcu__memb_gp_v3.reader_fences, __ATOMIC_RELAXED) ==
          !krcu_uses_membarrier());
    krcu_read_lock();     /* inline, unless KRCU_NO_INLINE */
    (krcu_read_lock)();   /* the exported function */
    krcu_read_unlock();
    (krcu_read_unlock)();
    (krcu_memb_read_lock)();
    krcu_memb_read_lock();
    (krcu_memb_read_unlock)();
    krcu_memb_read_unlock();
    krcu_synchronize_rcu(); /* not inside a section any more */
    krcu_register_thread();
    krcu_read_lock();
    krcu_read_unlock();
    krcu_unregister_thread(); /* the record goes back to the pool */
    CHECK(krcu__memb_word_v3 == KRCU__UNREGISTERED);
    krcu_read_lock();         /* registers again */
    krcu_read_unlock();
    krcu_synchronize_rcu();
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* A thread that uses krcu without registering and exits. */
    krcu_read_lock();
    krcu_read_unlock();
    void *p = krcu_kmalloc(64);
    krcu_kvfree_call_rcu_ptr((struct krcu_ptr *)p, p);
    return NULL;
}

int main(void)
{
    test_version();
    test_read_side_forms();
    test_memb();
    test_qsbr();
    test_hurry_and_expedited();
    test_slab();
    test_nolock();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    krcu_synchronize_rcu(); /* the exited thread does not hold it up */
    krcu_kvfree_rcu_barrier();
    puts("api: ok");
    return 0;
}
