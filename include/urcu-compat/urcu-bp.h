/* krcu's liburcu compatibility headers: <urcu-bp.h>, liburcu's bp flavor
 * on krcu's memb flavor (see <urcu/urcu-bp.h>). */
#ifndef KRCU_URCU_BP_TOP_H
#define KRCU_URCU_BP_TOP_H

#define URCU_API_MAP
#include <urcu/urcu-bp.h>

#endif /* KRCU_URCU_BP_TOP_H */
