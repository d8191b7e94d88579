/* krcu's liburcu compatibility headers: <urcu-pointer.h> (see <urcu/pointer.h>). */
#ifndef KRCU_URCU_POINTER_TOP_H
#define KRCU_URCU_POINTER_TOP_H

#include <urcu/pointer.h>

#endif /* KRCU_URCU_POINTER_TOP_H */
