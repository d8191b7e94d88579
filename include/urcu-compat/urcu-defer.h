/* krcu's liburcu compatibility headers: <urcu-defer.h> (see <urcu/defer.h>). */
#ifndef KRCU_URCU_DEFER_TOP_H
#define KRCU_URCU_DEFER_TOP_H

#include <urcu/defer.h>

#endif /* KRCU_URCU_DEFER_TOP_H */
