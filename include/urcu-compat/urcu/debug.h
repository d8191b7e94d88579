/* krcu's liburcu compatibility headers: <urcu/debug.h>: urcu_assert(),
 * an assert() when DEBUG_RCU (or CONFIG_RCU_DEBUG) is defined, else
 * nothing, as liburcu's. */
#ifndef KRCU_URCU_DEBUG_H
#define KRCU_URCU_DEBUG_H

#include <assert.h>
#include <urcu/config.h>

#if defined(DEBUG_RCU) || defined(CONFIG_RCU_DEBUG)
#define urcu_assert(...) assert(__VA_ARGS__)
#else
#define urcu_assert(...)
#endif

#endif /* KRCU_URCU_DEBUG_H */
