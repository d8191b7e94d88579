/* krcu's liburcu compatibility headers: <urcu-qsbr.h>. */
#ifndef KRCU_URCU_QSBR_TOP_H
#define KRCU_URCU_QSBR_TOP_H

#define URCU_API_MAP
#include <urcu/urcu-qsbr.h>

#endif /* KRCU_URCU_QSBR_TOP_H */
