/* liburcu-cds's lock-free hash table (rculfhash, from the system's
 * liburcu-cds, built against liburcu) on krcu's grace periods through the
 * flavor structure, with fork() under resize load.
 *
 * Two writers add and delete keys, so that the table grows and shrinks
 * and rculfhash's resize worker is busy; two readers look keys up. The
 * main thread forks repeatedly meanwhile, half the time with liburcu's
 * call_rcu_before_fork()/after-fork calls around the fork and half the
 * time with none: krcu's own fork handlers pause the resize worker before
 * the fork and restart it in the child (rculfhash hands those steps to
 * the flavor), and rculfhash counts nested calls, so both ways must work.
 * Each child adds enough keys to make the table grow (the restarted worker
 * must do it), checks them, deletes them and destroys its own table,
 * which waits for every resize: without a worker in the child, the child
 * hangs until its alarm kills it.
 *
 * Built for memb (<urcu.h>) and, with -DURCU_CONFIG_QSBR, for qsbr
 * (<urcu-qsbr.h>). Prints "rculfhash_fork: ok". */
#define _GNU_SOURCE
#include "liburcu_flavor.h"
#include <urcu/rculfhash.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define FORKS 16
#define KEYS 4096
#define CHILD_KEYS 50000

struct node {
    unsigned long key;
    struct cds_lfht_node ht;
    struct rcu_head rcu;
};

static atomic_int stop;
static atomic_long poisoned;

static unsigned long hash(unsigned long key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdUL;
    key ^= key >> 33;
    return key;
}

static int match(struct cds_lfht_node *n, const void *key)
{
    return caa_container_of(n, struct node, ht)->key == *(const unsigned long *)key;
}

static void free_node(struct rcu_head *head)
{
    struct node *n = caa_container_of(head, struct node, rcu);
    n->key = ~0UL; /* a reader that still held it would see this */
    free(n);
}

static struct node *new_node(unsigned long key)
{
    struct node *n = malloc(sizeof(*n));
    CHECK(n);
    n->key = key;
    cds_lfht_node_init(&n->ht);
    return n;
}

static struct cds_lfht *new_table(void)
{
    struct cds_lfht *ht = cds_lfht_new(1, 1, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    CHECK(ht);
    return ht;
}

/* Adds key unless present; deletes it otherwise. */
static void toggle(struct cds_lfht *ht, unsigned long key)
{
    struct cds_lfht_iter iter;
    rcu_read_lock();
    cds_lfht_lookup(ht, hash(key), match, &key, &iter);
    struct cds_lfht_node *found = cds_lfht_iter_get_node(&iter);
    if (found) {
        if (cds_lfht_del(ht, found) == 0)
            call_rcu(&caa_container_of(found, struct node, ht)->rcu, free_node);
    } else {
        struct node *n = new_node(key);
        if (cds_lfht_add_unique(ht, hash(key), match, &key, &n->ht) != &n->ht)
            free(n);
    }
    rcu_read_unlock();
}

static void *writer(void *arg)
{
    struct cds_lfht *ht = arg;
    unsigned long x = (unsigned long)pthread_self();
    rcu_register_thread();
    while (!atomic_load(&stop)) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        /* Bursts over a growing, then shrinking, key range. */
        for (int i = 0; i < 256; i++)
            toggle(ht, (x >> 20) % KEYS + i);
        QUIESCENT();
    }
    rcu_unregister_thread();
    return NULL;
}

static void *reader(void *arg)
{
    struct cds_lfht *ht = arg;
    unsigned long key = 0;
    rcu_register_thread();
    while (!atomic_load(&stop)) {
        struct cds_lfht_iter iter;
        rcu_read_lock();
        for (int i = 0; i < 256; i++) {
            key = (key + 7) % KEYS;
            cds_lfht_lookup(ht, hash(key), match, &key, &iter);
            struct cds_lfht_node *n = cds_lfht_iter_get_node(&iter);
            if (n && caa_container_of(n, struct node, ht)->key != key)
                atomic_fetch_add(&poisoned, 1);
        }
        rcu_read_unlock();
        QUIESCENT();
    }
    rcu_unregister_thread();
    return NULL;
}

/* Deletes every node (freed after a grace period), waits for their
 * callbacks and destroys the table, which waits for its resizes; returns
 * how many nodes it deleted. On a registered thread. */
static unsigned long drain_and_destroy(struct cds_lfht *ht)
{
    struct cds_lfht_iter iter;
    struct cds_lfht_node *n;
    unsigned long deleted = 0;
    rcu_read_lock();
    cds_lfht_for_each(ht, &iter, n) {
        if (cds_lfht_del(ht, n) == 0) {
            call_rcu(&caa_container_of(n, struct node, ht)->rcu, free_node);
            deleted++;
        }
    }
    rcu_read_unlock();
    OFFLINE();
    rcu_barrier();
    CHECK(cds_lfht_destroy(ht, NULL) == 0);
    ONLINE();
    return deleted;
}

/* In the child: a table of its own that must grow, be checked and be
 * destroyed, which needs the resize worker krcu restarted. */
static void child(void)
{
    alarm(60);
    rcu_register_thread();
    struct cds_lfht *ht = new_table();
    for (unsigned long k = 0; k < CHILD_KEYS; k++) {
        struct node *n = new_node(k);
        rcu_read_lock();
        CHECK(cds_lfht_add_unique(ht, hash(k), match, &k, &n->ht) == &n->ht);
        rcu_read_unlock();
        if (k % 1024 == 0)
            QUIESCENT();
    }
    long before, after;
    unsigned long count;
    rcu_read_lock();
    cds_lfht_count_nodes(ht, &before, &count, &after);
    rcu_read_unlock();
    CHECK(count == CHILD_KEYS);
    CHECK(drain_and_destroy(ht) == CHILD_KEYS);
    rcu_unregister_thread();
    exit(0);
}

int main(void)
{
    struct cds_lfht *ht = new_table();
    pthread_t threads[4];
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&threads[i], NULL, writer, ht) == 0);
        CHECK(pthread_create(&threads[2 + i], NULL, reader, ht) == 0);
    }
    for (int i = 0; i < FORKS; i++) {
        usleep(20000);
        int explicit_calls = i % 2;
        if (explicit_calls)
            call_rcu_before_fork();
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            if (explicit_calls)
                call_rcu_after_fork_child();
            child();
        }
        if (explicit_calls)
            call_rcu_after_fork_parent();
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork %d (%s the fork calls): child %s %d\n", i,
                    explicit_calls ? "with" : "without",
                    WIFSIGNALED(status) ? "killed by signal" : "exited with",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            return 1;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(atomic_load(&poisoned) == 0);

    /* The parent's table still resizes and is destroyed. */
    rcu_register_thread();
    drain_and_destroy(ht);
    rcu_unregister_thread();
    printf("rculfhash_fork: ok (%d forks)\n", FORKS);
    return 0;
}
