/* A small torture through the C API: readers walk shared slots under
 * krcu_read_lock and check that every object they reach is live; updaters
 * replace objects and retire the old ones through krcu_kfree_rcu (both link
 * kinds), krcu_call_rcu and krcu_kvfree_rcu_mightsleep. A cache rcu_dtor
 * (and the call_rcu callback) mark objects dead after the grace period.
 * Exit 0 on success, 1 if a reader saw a freed object. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "krcu.h"

#define SLOTS 16
#define LIVE 0x11fe11fe11fe11feULL
#define DEAD 0xdeaddeaddeaddeadULL

struct obj {
    struct krcu_head head;
    struct krcu_ptr link;
    _Atomic unsigned long long magic;
    long generation;
};

static struct obj *_Atomic slots[SLOTS];
static struct krcu_cache *cache;
static atomic_int stop;
static atomic_long failures, reads, retired;

static void mark_dead(void *p)
{
    atomic_store_explicit(&((struct obj *)p)->magic, DEAD, memory_order_relaxed);
}

static void free_cb(struct krcu_head *h)
{
    struct obj *o = (struct obj *)h;
    mark_dead(o);
    krcu_cache_free(cache, o);
}

static struct obj *new_obj(long generation)
{
    struct obj *o = krcu_cache_alloc(cache);
    if (!o)
        abort();
    atomic_store_explicit(&o->magic, LIVE, memory_order_relaxed);
    o->generation = generation;
    return o;
}

static void *reader(void *arg)
{
    (void)arg;
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        krcu_read_lock();
        for (int i = 0; i < SLOTS; i++) {
            struct obj *o = krcu_dereference(slots[i]);
            if (atomic_load_explicit(&o->magic, memory_order_relaxed) != LIVE)
                atomic_fetch_add(&failures, 1);
        }
        krcu_read_unlock();
        n++;
    }
    atomic_fetch_add(&reads, n);
    return NULL;
}

static void *updater(void *arg)
{
    long g = (long)(intptr_t)arg * 1000000;
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        g++;
        struct obj *old = krcu_xchg_pointer(&slots[g % SLOTS], new_obj(g));
        switch (g % 4) {
        case 0: krcu_kfree_rcu(old, link); break;
        case 1: krcu_kfree_rcu(old, head); break;
        case 2: krcu_call_rcu(&old->head, free_cb); break;
        default: krcu_kvfree_rcu_mightsleep(old); break;
        }
        n++;
    }
    atomic_fetch_add(&retired, n);
    return NULL;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    struct krcu_cache_args args = {.sheaf_capacity = 16, .rcu_dtor = mark_dead};
    cache = krcu_cache_create("c-torture", sizeof(struct obj), &args);
    for (int i = 0; i < SLOTS; i++)
        slots[i] = new_obj(i);
    pthread_t r[2], u[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&r[i], NULL, reader, NULL);
        pthread_create(&u[i], NULL, updater, (void *)(intptr_t)(i + 1));
    }
    struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(r[i], NULL);
        pthread_join(u[i], NULL);
    }
    krcu_rcu_barrier();
    krcu_kvfree_rcu_barrier();
    printf("c torture: %ld reads, %ld retirements, %ld failures\n", atomic_load(&reads),
           atomic_load(&retired), atomic_load(&failures));
    for (int i = 0; i < SLOTS; i++)
        krcu_cache_free(cache, slots[i]);
    if (krcu_cache_destroy(cache) != 0) {
        fprintf(stderr, "objects leaked\n");
        return 1;
    }
    return atomic_load(&failures) == 0 && atomic_load(&retired) > 0 ? 0 : 1;
}
