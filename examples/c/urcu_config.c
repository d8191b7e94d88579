/* A configuration snapshot shared by readers and replaced by a writer,
 * written against liburcu's API only: it builds against liburcu
 * (`pkg-config liburcu`) and, unchanged, against krcu (`pkg-config
 * krcu-urcu`).
 *
 * Readers check that every snapshot they see is whole (never freed under
 * them: the free poisons it) and that versions only grow; the writer
 * publishes new snapshots with rcu_xchg_pointer and frees the old ones with
 * call_rcu, or after synchronize_rcu, and rcu_barrier waits for the last
 * callbacks before the count of frees is checked.
 *
 * Built with -DURCU_CONFIG_QSBR it uses the qsbr flavor: readers announce
 * a quiescent state after each read, and the writer goes offline around
 * rcu_barrier, as liburcu requires. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef URCU_CONFIG_QSBR
#include <urcu-qsbr.h>
#else
#include <urcu.h>
#endif
#include <urcu/uatomic.h>
#include <urcu/tls-compat.h>
#include <assert.h>

#define READERS 3
#define UPDATES 20000
#define POISON 0xdeadbeefUL

struct config {
    unsigned long version;
    unsigned long check; /* version ^ 0x5555: whole while not freed */
    struct rcu_head rcu;
};

static struct config *current;
static int stop;
static unsigned long freed;
static unsigned long bad;
static DEFINE_URCU_TLS(unsigned long, nr_reads);

static struct config *new_config(unsigned long version)
{
    struct config *c = malloc(sizeof(*c));
    if (!c)
        abort();
    c->version = version;
    c->check = version ^ 0x5555UL;
    return c;
}

static void free_config(struct config *c)
{
    c->version = POISON;
    c->check = POISON;
    free(c);
    uatomic_inc(&freed);
}

static void free_config_rcu(struct rcu_head *head)
{
    free_config(caa_container_of(head, struct config, rcu));
}

static void *reader(void *arg)
{
    unsigned long last = 0;
    (void)arg;
    rcu_register_thread();
    while (!uatomic_read(&stop)) {
#ifndef URCU_CONFIG_QSBR
        assert(!rcu_read_ongoing());
#endif
        rcu_read_lock();
        assert(rcu_read_ongoing());
        struct config *c = rcu_dereference(current);
        if (c->check != (c->version ^ 0x5555UL) || c->version < last)
            uatomic_inc(&bad);
        last = c->version;
        rcu_read_unlock();
        rcu_quiescent_state(); /* no code in memb */
        URCU_TLS(nr_reads)++;
    }
    rcu_unregister_thread();
    return (void *)URCU_TLS(nr_reads);
}

int main(void)
{
    pthread_t readers[READERS];
    unsigned long reads = 0;

    rcu_register_thread();
    rcu_assign_pointer(current, new_config(0));
    for (int i = 0; i < READERS; i++)
        if (pthread_create(&readers[i], NULL, reader, NULL))
            abort();
    for (unsigned long v = 1; v <= UPDATES; v++) {
        struct config *old = rcu_xchg_pointer(&current, new_config(v));
        if (v % 100 == 0) {
            synchronize_rcu();
            free_config(old);
        } else {
            call_rcu(&old->rcu, free_config_rcu);
        }
    }
    uatomic_set(&stop, 1);
    for (int i = 0; i < READERS; i++) {
        void *r;
        pthread_join(readers[i], &r);
        reads += (unsigned long)r;
    }
    rcu_thread_offline(); /* no code in memb */
    rcu_barrier();
    rcu_thread_online();
    printf("reads %s, updates %d, freed %lu of %d, bad snapshots %lu\n", reads > 0 ? "yes" : "no",
           UPDATES, uatomic_read(&freed), UPDATES, uatomic_read(&bad));
    free_config(rcu_xchg_pointer(&current, NULL));
    rcu_unregister_thread();
    return uatomic_read(&bad) == 0 && uatomic_read(&freed) == UPDATES + 1 ? 0 : 1;
}
