/* Misuse in a program written against liburcu's names (the compat
 * headers): each case, chosen by argv[1], must abort with krcu's message
 * in liburcu's terms (synchronize_rcu(), rcu_read_unlock(), ...), checked
 * by tests/c_api.rs in a child process. Built for memb and, with
 * -DURCU_CONFIG_QSBR, for qsbr; the qsbr build's "stall" case is a
 * warning, not an abort. */
#define _GNU_SOURCE
#include "liburcu_flavor.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef URCU_CONFIG_QSBR
/* Online with qsbr, announcing nothing for a while. */
static void *stall(void *arg)
{
    (void)arg;
    rcu_register_thread();
    usleep(600 * 1000);
    rcu_unregister_thread();
    return NULL;
}
#else
static void barrier_in_callback(struct rcu_head *head)
{
    (void)head;
    rcu_barrier(); /* would wait for itself */
}

static struct rcu_head head;
#endif

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *c = argv[1];
#ifdef URCU_CONFIG_QSBR
    if (!strcmp(c, "stall")) {
        pthread_t t;
        if (pthread_create(&t, NULL, stall, NULL))
            return 3;
        usleep(50 * 1000);
        synchronize_rcu(); /* waits for the thread: reported as a stall */
        pthread_join(t, NULL);
        puts("stall: done");
        return 0;
    }
#else
    if (!strcmp(c, "sync-in-read-section")) {
        rcu_read_lock();
        synchronize_rcu();
    } else if (!strcmp(c, "barrier-in-read-section")) {
        rcu_read_lock();
        rcu_barrier();
    } else if (!strcmp(c, "unlock-without-lock")) {
        rcu_read_unlock();
    } else if (!strcmp(c, "fork-in-read-section")) {
        rcu_read_lock();
        fork();
    } else if (!strcmp(c, "barrier-in-callback")) {
        call_rcu(&head, barrier_in_callback);
        rcu_barrier();
        sleep(10);
    } else if (!strcmp(c, "call-rcu-null-func")) {
        call_rcu(&head, NULL);
    } else {
        fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
#endif
    fprintf(stderr, "case %s did not abort\n", c);
    return 1;
}
