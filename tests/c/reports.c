/* Reports reach C programs: a stalled grace period goes to the log handler
 * the program installed, with its level; NULL restores standard error.
 * The tunables' setters take effect. Built with -std=c11 -Wall -Wextra
 * -Werror. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krcu.h"
#include "check.h"


static atomic_int reports;
static atomic_int bad_level;
static atomic_int stall_seen;
static int token;

static void handler(int level, const char *message, void *arg)
{
    if (level != KRCU_LOG_WARN && level != KRCU_LOG_ERROR)
        atomic_store(&bad_level, 1);
    if (arg != &token)
        atomic_store(&bad_level, 1);
    if (strstr(message, "grace period stalled"))
        atomic_store(&stall_seen, 1);
    atomic_fetch_add(&reports, 1);
}

static atomic_int reader_in, reader_out;

static void *stalling_reader(void *unused)
{
    (void)unused;
    krcu_register_thread();
    krcu_read_lock();
    atomic_store(&reader_in, 1);
    while (!atomic_load(&reader_out))
        usleep(1000);
    krcu_read_unlock();
    krcu_unregister_thread();
    return NULL;
}

static void *release_after_a_while(void *unused)
{
    (void)unused;
    usleep(400 * 1000); /* several stall timeouts of 50 ms */
    atomic_store(&reader_out, 1);
    return NULL;
}

/* A reader holds its section past the stall timeout while this thread
 * waits for a grace period: krcu reports the stall. */
static void stall_once(void)
{
    pthread_t reader, releaser;
    atomic_store(&reader_in, 0);
    atomic_store(&reader_out, 0);
    CHECK(pthread_create(&reader, NULL, stalling_reader, NULL) == 0);
    while (!atomic_load(&reader_in))
        usleep(1000);
    CHECK(pthread_create(&releaser, NULL, release_after_a_while, NULL) == 0);
    krcu_synchronize_rcu();
    CHECK(pthread_join(releaser, NULL) == 0);
    CHECK(pthread_join(reader, NULL) == 0);
}

int main(int argc, char **argv)
{
    krcu_set_stall_timeout_ms(50);
    krcu_set_kfree_monitor_ms(2);
    krcu_set_debug_checks(true);
    if (argc > 1 && !strcmp(argv[1], "stderr")) {
        /* No handler: the report is one line on standard error. */
        stall_once();
        return 0;
    }
    krcu_set_log_handler(handler, &token);
    stall_once();
    CHECK(atomic_load(&stall_seen));
    CHECK(atomic_load(&reports) >= 1);
    CHECK(!atomic_load(&bad_level));
    /* NULL restores the default: nothing more reaches the handler. */
    krcu_set_log_handler(NULL, NULL);
    int before = atomic_load(&reports);
    stall_once();
    CHECK(atomic_load(&reports) == before);
    puts("reports ok");
    return 0;
}
