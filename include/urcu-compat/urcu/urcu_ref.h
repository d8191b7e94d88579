/* krcu's liburcu compatibility headers: <urcu/urcu_ref.h>, liburcu's old
 * name for <urcu/ref.h>. */
#ifndef KRCU_URCU_URCU_REF_H
#define KRCU_URCU_URCU_REF_H

#warning "urcu/urcu_ref.h is deprecated. Please include urcu/ref.h instead."
#include <urcu/ref.h>

#endif /* KRCU_URCU_URCU_REF_H */
