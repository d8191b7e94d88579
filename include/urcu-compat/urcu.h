/* krcu's liburcu compatibility headers: <urcu.h>, liburcu's default
 * flavor (memb; RCU_MB and RCU_SIGNAL select theirs, see <urcu/urcu.h>)
 * with its short names (rcu_read_lock, synchronize_rcu, call_rcu, ...). */
#ifndef KRCU_URCU_H
#define KRCU_URCU_H

#define URCU_API_MAP
#include <urcu/urcu.h>

#endif /* KRCU_URCU_H */
