/* dlclose of libkrcu.so while its helper threads run: the library is
 * linked with -z nodelete, so it stays mapped and the helpers never run
 * unmapped code. The program loads it with dlopen (it is not linked
 * against it) and keeps working after dlclose. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <unistd.h>

#include "krcu.h"
#include "check.h"

static atomic_int ran;

static void count(struct krcu_head *h)
{
    (void)h;
    atomic_fetch_add(&ran, 1);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL);
    void (*call_rcu)(struct krcu_head *, void (*)(struct krcu_head *)) =
        (void (*)(struct krcu_head *, void (*)(struct krcu_head *)))dlsym(lib, "krcu_call_rcu");
    void (*barrier)(void) = (void (*)(void))dlsym(lib, "krcu_rcu_barrier");
    void *(*kmalloc)(size_t) = (void *(*)(size_t))dlsym(lib, "krcu_kmalloc");
    void (*kvfree_rcu)(void *) = (void (*)(void *))dlsym(lib, "krcu_kvfree_rcu_mightsleep");
    CHECK(call_rcu && barrier && kmalloc && kvfree_rcu);
    static struct krcu_head heads[64];
    for (int i = 0; i < 64; i++)
        call_rcu(&heads[i], count);
    barrier();
    CHECK(atomic_load(&ran) == 64);
    /* Leave work in flight for the helpers, then close the library. */
    for (int i = 0; i < 100; i++)
        kvfree_rcu(kmalloc(64));
    CHECK(dlclose(lib) == 0);
    /* Still mapped: dlclose did not unload it. */
    void *again = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
    CHECK(again != NULL);
    /* The helpers finish their work in mapped code. */
    usleep(200 * 1000);
    return 0;
}
