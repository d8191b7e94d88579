/* krcu's liburcu compatibility headers: <urcu-call-rcu.h> (see <urcu/call-rcu.h>). */
#ifndef KRCU_URCU_CALL_RCU_TOP_H
#define KRCU_URCU_CALL_RCU_TOP_H

#include <urcu/call-rcu.h>

#endif /* KRCU_URCU_CALL_RCU_TOP_H */
