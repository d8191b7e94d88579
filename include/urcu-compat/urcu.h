/* krcu's liburcu compatibility headers: <urcu.h>. liburcu's default
 * flavor (memb, RCU_MEMBARRIER) and RCU_MB both map to krcu's memb flavor:
 * its semantics are a valid implementation of mb's (readers pay no
 * fence; writers use membarrier(), or real fences where it is missing). */
#ifndef KRCU_URCU_H
#define KRCU_URCU_H

#include <urcu/urcu-memb.h>

#endif /* KRCU_URCU_H */
