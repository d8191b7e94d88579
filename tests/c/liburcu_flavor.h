/* The liburcu flavor a compat-header test is built for: memb (<urcu.h>)
 * or, with -DURCU_CONFIG_QSBR, qsbr (<urcu-qsbr.h>); and the steps only a
 * qsbr thread takes (announcing quiescent states, going offline around a
 * wait), which are no code for memb. */
#ifndef KRCU_TEST_LIBURCU_FLAVOR_H
#define KRCU_TEST_LIBURCU_FLAVOR_H

#ifdef URCU_CONFIG_QSBR
#include <urcu-qsbr.h>
#define QUIESCENT() rcu_quiescent_state()
#define OFFLINE() rcu_thread_offline()
#define ONLINE() rcu_thread_online()
#else
#include <urcu.h>
#define QUIESCENT() ((void)0)
#define OFFLINE() ((void)0)
#define ONLINE() ((void)0)
#endif

#endif
