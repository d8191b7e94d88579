/* liburcu's API on krcu, through the compat headers (pkg-config krcu-urcu):
 * defer_rcu, the call_rcu_data API, the fork calls, and the RCU list
 * macros under a torture in which readers walk a list and a hash bucket
 * while a writer adds, replaces and deletes, freeing through call_rcu
 * (poisoning first) and krcu's kfree_rcu. Built for memb and, with
 * -DURCU_CONFIG_QSBR, for qsbr. Prints "liburcu_api: ok"; the misuse
 * reports it provokes go to stderr, where tests/c_api.rs looks for them. */
#define _GNU_SOURCE
#include "liburcu_flavor.h"
#include <urcu-defer.h>
#include <urcu/rculist.h>
#include <urcu/rcuhlist.h>
#include <urcu/ref.h>
#include <urcu/debug.h>
#include <krcu.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---- defer_rcu ---- */

static atomic_long deferred;

static void count_deferred(void *p)
{
    CHECK(p == (void *)0x1234);
    atomic_fetch_add(&deferred, 1);
}

/* A callback that defers: krcu's defer_rcu never waits, so a callback may
 * call it (the deferred call runs after a later grace period). */
static struct rcu_head defer_from_callback_head;

static void defer_from_callback(struct rcu_head *head)
{
    CHECK(head == &defer_from_callback_head);
    defer_rcu(count_deferred, (void *)0x1234);
}

static void *defer_thread(void *arg)
{
    (void)arg;
    rcu_register_thread();
    CHECK(rcu_defer_register_thread() == 0);
    for (int i = 0; i < 500; i++)
        defer_rcu(count_deferred, (void *)0x1234);
    /* Returns once this thread's deferred calls have run. */
    rcu_defer_unregister_thread();
    rcu_unregister_thread();
    return NULL;
}

static void test_defer(void)
{
    CHECK(rcu_defer_register_thread() == 0);
    /* Inside a read-side critical section: krcu's defer_rcu never waits. */
    rcu_read_lock();
    defer_rcu(count_deferred, (void *)0x1234);
    rcu_read_unlock();
    for (int i = 0; i < 999; i++)
        defer_rcu(count_deferred, (void *)0x1234);
    defer_rcu(free, malloc(64));
    rcu_defer_barrier_thread();
    CHECK(atomic_load(&deferred) == 1000);

    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, defer_thread, NULL) == 0);
    /* A qsbr thread goes offline around a blocking call (the threads'
     * barriers wait for a grace period). */
    OFFLINE();
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    ONLINE();
    CHECK(atomic_load(&deferred) == 2000);

    defer_rcu(count_deferred, (void *)0x1234);
    rcu_defer_barrier();
    CHECK(atomic_load(&deferred) == 2001);

    /* One barrier for the callback, one for the call it deferred. */
    call_rcu(&defer_from_callback_head, defer_from_callback);
    rcu_barrier();
    rcu_defer_barrier();
    CHECK(atomic_load(&deferred) == 2002);
    rcu_defer_unregister_thread();
}

/* ---- call_rcu_data ---- */

static atomic_int callbacks;

static void count_callback(struct rcu_head *head)
{
    (void)head;
    atomic_fetch_add(&callbacks, 1);
}

static void test_call_rcu_data(void)
{
    struct call_rcu_data *def = get_default_call_rcu_data();
    CHECK(def != NULL);
    CHECK(get_default_call_rcu_data() == def);
    CHECK(get_thread_call_rcu_data() == NULL);
    CHECK(get_call_rcu_data() == def);

    struct call_rcu_data *own = create_call_rcu_data(URCU_CALL_RCU_RT, -1);
    CHECK(own != NULL && own != def);
    set_thread_call_rcu_data(own);
    CHECK(get_thread_call_rcu_data() == own);
    CHECK(get_call_rcu_data() == own);

    /* Every handle's callbacks run on the flavor's callback thread. */
    pthread_t worker = get_call_rcu_thread(own);
    CHECK(pthread_equal(worker, get_call_rcu_thread(def)));
    char name[16] = "";
    CHECK(pthread_getname_np(worker, name, sizeof name) == 0);
    CHECK(strncmp(name, "krcu-", 5) == 0 && strstr(name, "-cb") != NULL);

    struct rcu_head heads[100];
    for (int i = 0; i < 100; i++)
        call_rcu(&heads[i], count_callback);
    rcu_barrier();
    CHECK(atomic_load(&callbacks) == 100);

    /* Freeing the thread's own handle clears it; twice is reported. */
    call_rcu_data_free(own);
    CHECK(get_thread_call_rcu_data() == NULL);
    call_rcu_data_free(own);         /* reported: "was freed" */
    call_rcu_data_free(def);         /* ignored, as in liburcu */
    call_rcu_data_free(NULL);        /* ignored */
    int foreign;
    call_rcu_data_free((struct call_rcu_data *)&foreign); /* reported */
    set_thread_call_rcu_data((struct call_rcu_data *)&foreign); /* reported */
    CHECK(get_thread_call_rcu_data() == NULL);

    /* Per-CPU handles. */
    int cpus = (int)sysconf(_SC_NPROCESSORS_CONF);
    CHECK(get_cpu_call_rcu_data(0) == NULL);
    struct call_rcu_data *one = create_call_rcu_data(0, 0);
    CHECK(set_cpu_call_rcu_data(cpus, one) == -EINVAL && errno == EINVAL);
    CHECK(set_cpu_call_rcu_data(-1, one) == -EINVAL);
    CHECK(set_cpu_call_rcu_data(0, one) == 0);
    CHECK(get_cpu_call_rcu_data(0) == one);
    CHECK(create_all_cpu_call_rcu_data(0) == 0);
    CHECK(get_cpu_call_rcu_data(0) == one); /* kept */
    for (int cpu = 1; cpu < cpus; cpu++) {
        struct call_rcu_data *c = get_cpu_call_rcu_data(cpu);
        CHECK(c != NULL && c != one && c != def);
        CHECK(set_cpu_call_rcu_data(cpu, one) == -EEXIST && errno == EEXIST);
    }
    struct call_rcu_data *mine = get_call_rcu_data();
    int found = 0;
    for (int cpu = 0; cpu < cpus; cpu++)
        found |= get_cpu_call_rcu_data(cpu) == mine;
    CHECK(found);
    call_rcu_data_free(one); /* reported: still set for CPU 0; not freed */
    CHECK(get_cpu_call_rcu_data(0) == one);
    for (int i = 0; i < 100; i++)
        call_rcu(&heads[i], count_callback);
    free_all_cpu_call_rcu_data();
    CHECK(get_cpu_call_rcu_data(0) == NULL);
    CHECK(get_call_rcu_data() == def);
    rcu_barrier();
    CHECK(atomic_load(&callbacks) == 200);
}

/* ---- fork ---- */

static void test_fork(void)
{
    static struct rcu_head head;

    /* A handle set on the forking thread stays valid in the child, and
     * callbacks and deferred calls queued there run. */
    struct call_rcu_data *own = create_call_rcu_data(0, -1);
    CHECK(own != NULL);
    set_thread_call_rcu_data(own);
    call_rcu_before_fork();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        call_rcu_after_fork_child();
        CHECK(get_call_rcu_data() == own);
        CHECK(get_call_rcu_thread(own) != 0);
        int before = atomic_load(&callbacks);
        long deferred_before = atomic_load(&deferred);
        call_rcu(&head, count_callback);
        defer_rcu(count_deferred, (void *)0x1234);
        rcu_barrier();
        rcu_defer_barrier();
        synchronize_rcu();
        _exit(atomic_load(&callbacks) == before + 1 && atomic_load(&deferred) == deferred_before + 1
                  ? 0
                  : 3);
    }
    call_rcu_after_fork_parent();
    set_thread_call_rcu_data(NULL);
    call_rcu_data_free(own);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    call_rcu_after_fork_parent(); /* reported: without call_rcu_before_fork */
}

/* ---- the list torture ---- */

enum { KEYS = 64, BUCKETS = 8 };

struct node {
    long key;
    long check; /* key * 2 + 1 while live; -1 once freed */
    struct cds_list_head list;
    struct cds_hlist_node hnode;
    struct rcu_head rcu;
    struct krcu_head krcu;
};

static CDS_LIST_HEAD(list);
static struct cds_hlist_head buckets[BUCKETS];
static atomic_int stop;
static atomic_long walks, seen_dead;

static void poison_and_free(struct rcu_head *head)
{
    struct node *n = caa_container_of(head, struct node, rcu);
    n->check = -1;
    krcu_kfree(n);
}

static struct node *new_node(long key)
{
    struct node *n = krcu_kmalloc(sizeof *n);
    CHECK(n != NULL);
    n->key = key;
    n->check = key * 2 + 1;
    return n;
}

static void check_node(const struct node *n)
{
    long c = __atomic_load_n(&n->check, __ATOMIC_RELAXED);
    if (c != n->key * 2 + 1)
        atomic_fetch_add(&seen_dead, 1);
}

static void *list_reader(void *arg)
{
    (void)arg;
    rcu_register_thread();
    while (!atomic_load(&stop)) {
        struct node *n;
        struct cds_list_head *pos;
        struct cds_hlist_node *hpos;
        long count = 0;

        rcu_read_lock();
        cds_list_for_each_entry_rcu(n, &list, list) {
            check_node(n);
            count++;
        }
        cds_list_for_each_rcu(pos, &list)
            check_node(cds_list_entry(pos, struct node, list));
        for (int b = 0; b < BUCKETS; b++) {
            cds_hlist_for_each_entry_rcu(n, hpos, &buckets[b], hnode)
                check_node(n);
            cds_hlist_for_each_entry_rcu_2(n, &buckets[b], hnode)
                check_node(n);
        }
        rcu_read_unlock();
        /* A walk is not a snapshot: it may meet nodes added at the tail
         * after it started, so it has no bound but its end. */
        (void)count;
        atomic_fetch_add(&walks, 1);
        QUIESCENT();
    }
    rcu_unregister_thread();
    return NULL;
}

static struct node *find(long key)
{
    struct node *n;
    cds_list_for_each_entry(n, &list, list)
        if (n->key == key)
            return n;
    return NULL;
}

static void test_list_torture(void)
{
    for (int b = 0; b < BUCKETS; b++)
        CDS_INIT_HLIST_HEAD(&buckets[b]);
    pthread_t readers[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&readers[i], NULL, list_reader, NULL) == 0);

    unsigned seed = 1;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long ops = 0;
    do {
        long key = rand_r(&seed) % KEYS;
        struct node *old = find(key);
        struct node *n = new_node(key);
        int op = rand_r(&seed) % 3;
        if (!old) {
            if (op)
                cds_list_add_rcu(&n->list, &list);
            else
                cds_list_add_tail_rcu(&n->list, &list);
            cds_hlist_add_head_rcu(&n->hnode, &buckets[key % BUCKETS]);
        } else if (op == 0) {
            /* Delete: the node is poisoned by its callback, after a grace
             * period. */
            cds_list_del_rcu(&old->list);
            cds_hlist_del_rcu(&old->hnode);
            call_rcu(&old->rcu, poison_and_free);
            krcu_kfree(n);
        } else {
            /* Replace: readers see the old node or the new one. */
            cds_list_replace_rcu(&old->list, &n->list);
            cds_hlist_del_rcu(&old->hnode);
            cds_hlist_add_head_rcu(&n->hnode, &buckets[key % BUCKETS]);
            if (op == 1)
                call_rcu(&old->rcu, poison_and_free);
            else
                krcu_kfree_rcu(old, krcu);
        }
        QUIESCENT();
        ops++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
                 500000000L ||
             atomic_load(&walks) < 100);
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(readers[i], NULL) == 0);

    struct node *n, *next;
    long left = 0;
    cds_list_for_each_entry_safe(n, next, &list, list) {
        cds_list_del(&n->list);
        krcu_kfree(n);
        left++;
    }
    CHECK(cds_list_empty(&list));
    rcu_barrier();
    krcu_kvfree_rcu_barrier();
    printf("liburcu_api: list torture: %ld updates, %ld walks, %ld nodes left, %ld dead seen\n",
           ops, atomic_load(&walks), left, atomic_load(&seen_dead));
    CHECK(atomic_load(&seen_dead) == 0);
}

/* ---- <urcu/ref.h>: an object found under RCU is kept with a reference
 * only while its count has not reached zero ---- */

struct refd {
    struct urcu_ref ref;
    struct rcu_head head;
};

static atomic_int refs_released;

static void free_refd(struct rcu_head *head)
{
    free(caa_container_of(head, struct refd, head));
}

static void release_refd(struct urcu_ref *ref)
{
    struct refd *r = caa_container_of(ref, struct refd, ref);
    atomic_fetch_add(&refs_released, 1);
    call_rcu(&r->head, free_refd);
}

static void test_ref(void)
{
    struct refd *r = malloc(sizeof(*r));
    CHECK(r);
    urcu_ref_init(&r->ref);
    rcu_read_lock();
    CHECK(urcu_ref_get_unless_zero(&r->ref));
    urcu_assert(uatomic_read(&r->ref.refcount) == 2);
    rcu_read_unlock();
    urcu_ref_put(&r->ref, release_refd);
    CHECK(atomic_load(&refs_released) == 0);
    /* A reader that found the object before its last reference went: the
     * object is released (and its free queued) under the reader, which
     * may still look at it and gets no reference. */
    rcu_read_lock();
    urcu_ref_put(&r->ref, release_refd);
    CHECK(atomic_load(&refs_released) == 1);
    CHECK(!urcu_ref_get_unless_zero(&r->ref));
    rcu_read_unlock();
    QUIESCENT();
    struct urcu_ref full;
    urcu_ref_set(&full, LONG_MAX);
    CHECK(!urcu_ref_get_safe(&full));
    OFFLINE();
    rcu_barrier();
    ONLINE();
}

/* With no slab cache left to make (every one of the 4096 taken), defer_rcu
 * cannot have its nodes' cache and queues boxed calls instead: the same
 * calls, the same barriers. Run alone in a process ("no-cache"): the
 * nodes' cache is made at a process's first defer_rcu. */
static int test_defer_without_a_cache(void)
{
    static struct krcu_cache *taken[4097];
    int n = 0;
    while (n < 4097 && (taken[n] = krcu_cache_create("taken", 32, NULL)))
        n++;
    CHECK(n <= 4096 && errno == EMFILE);
    test_defer();
    for (int i = 0; i < n; i++)
        CHECK(krcu_cache_destroy(taken[i]) == 0);
    printf("liburcu_api: defer_rcu without its cache (%d caches taken): ok\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    rcu_register_thread();
    if (argc > 1 && !strcmp(argv[1], "no-cache"))
        return test_defer_without_a_cache();
    test_ref();
    test_defer();
    test_call_rcu_data();
#ifdef URCU_CONFIG_QSBR
    /* fork() and a long torture from an offline main thread, as a qsbr
     * program that waits would be. */
    rcu_thread_offline();
#endif
    test_fork();
    test_list_torture();
#ifdef URCU_CONFIG_QSBR
    rcu_thread_online();
#endif
    rcu_unregister_thread();
    printf("liburcu_api: ok\n");
    return 0;
}
