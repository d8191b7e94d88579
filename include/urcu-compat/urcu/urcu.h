/* krcu's liburcu compatibility headers: <urcu/urcu.h>, the flavor chosen
 * by RCU_MEMBARRIER (the default), RCU_MB or RCU_SIGNAL, as liburcu's.
 * All three are krcu's memb flavor under their own names. */
#ifndef KRCU_URCU_URCU_H
#define KRCU_URCU_URCU_H

#if !defined(RCU_MEMBARRIER) && !defined(RCU_SIGNAL) && !defined(RCU_MB)
#define RCU_MEMBARRIER
#endif

#ifdef RCU_MEMBARRIER
#include <urcu/urcu-memb.h>
#elif defined(RCU_SIGNAL)
#include <urcu/urcu-signal.h>
#elif defined(RCU_MB)
#include <urcu/urcu-mb.h>
#endif

#endif /* KRCU_URCU_URCU_H */
