/* A read-mostly routing table under krcu.
 *
 * Readers look routes up inside krcu_read_lock(); a writer never changes a
 * route in place: it allocates a new one, publishes it with
 * krcu_assign_pointer, and frees the old one after a grace period, with
 * krcu_kfree_rcu through an 8-byte struct krcu_ptr link (or with
 * krcu_call_rcu when it has more to do than free). Build with
 * `make -C examples/c`, run ./table. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <krcu.h>

#define ROUTES 64

struct route {
    unsigned prefix;
    unsigned next_hop;
    struct krcu_ptr rcu; /* enough for krcu_kfree_rcu */
};

/* A route whose retirement also counts something: needs a callback. */
struct counted_route {
    struct route r;
    struct krcu_head head;
};

static struct krcu_cache *routes_cache;
static struct route *table[ROUTES];
static atomic_int stop;
static atomic_long lookups, retired_by_callback;

static unsigned lookup(unsigned prefix)
{
    unsigned hop = 0;
    krcu_read_lock();
    struct route *r = krcu_dereference(table[prefix % ROUTES]);
    if (r && r->prefix == prefix % ROUTES)
        hop = r->next_hop;
    krcu_read_unlock();
    return hop;
}

static void *reader(void *arg)
{
    (void)arg;
    unsigned x = 1, sum = 0;
    long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        x = x * 1103515245u + 12345u;
        sum += lookup(x >> 8);
        n++;
    }
    atomic_fetch_add(&lookups, n);
    return (void *)(uintptr_t)sum;
}

static void free_counted(struct krcu_head *h)
{
    struct counted_route *c = (struct counted_route *)((char *)h - offsetof(struct counted_route, head));
    atomic_fetch_add(&retired_by_callback, 1);
    krcu_kfree(c);
}

/* Retires a route that no reader can find any more: slots below 8 hold
 * counted routes, freed by a callback; the others plain ones. */
static void retire(unsigned slot, struct route *old)
{
    if (slot < 8)
        krcu_call_rcu(&((struct counted_route *)old)->head, free_counted);
    else
        krcu_kfree_rcu(old, rcu); /* never blocks, never allocates */
}

/* Copy, update, publish: the new route is complete before readers see it. */
static void update(unsigned slot, unsigned hop)
{
    struct route *fresh;
    if (slot < 8)
        fresh = &((struct counted_route *)krcu_kmalloc(sizeof(struct counted_route)))->r;
    else
        fresh = krcu_cache_alloc(routes_cache);
    fresh->prefix = slot;
    fresh->next_hop = hop;
    struct route *old = krcu_xchg_pointer(&table[slot], fresh);
    if (old)
        retire(slot, old);
}

int main(void)
{
    struct krcu_cache_args args = {.sheaf_capacity = 32};
    routes_cache = krcu_cache_create("routes", sizeof(struct route), &args);
    for (unsigned i = 0; i < ROUTES; i++)
        update(i, i + 1);
    pthread_t readers[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&readers[i], NULL, reader, NULL);
    long updates = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        unsigned slot = (unsigned)(updates % ROUTES);
        update(slot, (unsigned)updates);
        updates++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 500000000L);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(readers[i], NULL);
    /* Retire the table, then wait for every deferred free. */
    for (unsigned i = 0; i < ROUTES; i++)
        retire(i, krcu_xchg_pointer(&table[i], NULL));
    krcu_rcu_barrier();        /* the call_rcu callbacks have run */
    krcu_kvfree_rcu_barrier(); /* the kfree_rcu'd routes are freed */
    int destroyed = krcu_cache_destroy(routes_cache);
    printf("table: %ld lookups, %ld updates, %ld retired by callback, cache destroyed: %s\n",
           atomic_load(&lookups), updates, atomic_load(&retired_by_callback),
           destroyed == 0 ? "yes" : "no");
    return destroyed == 0 ? 0 : 1;
}
