/* Misuse from C: each case, chosen by argv[1], must abort with a message
 * naming the rule broken (checked by tests/c_api.rs in a child process). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krcu.h"

static void noop(struct krcu_head *h)
{
    (void)h;
}

static void barrier_in_callback(struct krcu_head *h)
{
    (void)h;
    krcu_rcu_barrier(); /* would wait for itself */
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *c = argv[1];
    long on_stack[4] = {0};
    if (!strcmp(c, "kfree-foreign")) {
        krcu_kfree(on_stack);
    } else if (!strcmp(c, "kfree-rcu-foreign")) {
        krcu_kvfree_call_rcu_ptr((struct krcu_ptr *)on_stack, on_stack);
    } else if (!strcmp(c, "cache-free-wrong-cache")) {
        struct krcu_cache *a = krcu_cache_create("a", 32, NULL);
        struct krcu_cache *b = krcu_cache_create("b", 32, NULL);
        krcu_cache_free(b, krcu_cache_alloc(a));
    } else if (!strcmp(c, "sync-in-read-section")) {
        krcu_read_lock();
        krcu_synchronize_rcu();
    } else if (!strcmp(c, "unlock-without-lock")) {
        krcu_read_unlock();
    } else if (!strcmp(c, "unlock-after-unregister")) {
        krcu_register_thread();
        krcu_read_lock();
        krcu_read_unlock();
        krcu_unregister_thread();
        krcu_read_unlock();
    } else if (!strcmp(c, "nesting-too-deep")) {
        for (int i = 0; i < 65534; i++) /* the deepest nesting allowed */
            krcu_read_lock();
        fprintf(stderr, "65534 nested sections taken\n");
        krcu_read_lock();
    } else if (!strcmp(c, "call-rcu-null-head")) {
        krcu_call_rcu(NULL, noop);
    } else if (!strcmp(c, "call-rcu-null-func")) {
        struct krcu_head h;
        krcu_call_rcu(&h, NULL);
    } else if (!strcmp(c, "barrier-in-callback")) {
        struct krcu_head *h = krcu_kmalloc(sizeof *h);
        krcu_call_rcu(h, barrier_in_callback);
        krcu_rcu_barrier();
    } else if (!strcmp(c, "headless-in-read-section")) {
        void *p = krcu_kmalloc(64);
        krcu_read_lock();
        krcu_kvfree_rcu_mightsleep(p);
    } else if (!strcmp(c, "kvfree-barrier-in-read-section")) {
        krcu_qsbr_register_thread();
        krcu_qsbr_read_lock();
        krcu_kvfree_rcu_barrier();
    } else if (!strcmp(c, "qsbr-read-while-offline")) {
        krcu_qsbr_register_thread();
        krcu_qsbr_thread_offline();
        krcu_qsbr_read_lock();
    } else if (!strcmp(c, "double-kfree")) {
        void *p = krcu_kmalloc(64);
        krcu_kfree(p);
        krcu_kfree(p);
    } else if (!strcmp(c, "kfree-after-kfree-rcu")) {
        struct krcu_ptr *p = krcu_kmalloc(64);
        krcu_kvfree_call_rcu_ptr(p, p);
        krcu_kfree(p);
    } else if (!strcmp(c, "double-kfree-nolock")) {
        void *p = krcu_kmalloc(64);
        krcu_kfree_nolock(p);
        krcu_kfree_nolock(p);
    } else if (!strcmp(c, "cache-alloc-null")) {
        krcu_cache_alloc(NULL);
    } else {
        fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
    fprintf(stderr, "case %s did not abort\n", c);
    return 1;
}
