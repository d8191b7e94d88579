/* krcu's liburcu compatibility headers: <urcu/uatomic_arch.h>, liburcu's
 * old name for <urcu/uatomic.h>. */
#ifndef KRCU_URCU_UATOMIC_ARCH_H
#define KRCU_URCU_UATOMIC_ARCH_H

#warning "urcu/uatomic_arch.h is deprecated. Please include urcu/uatomic.h instead."
#include <urcu/uatomic.h>

#endif /* KRCU_URCU_UATOMIC_ARCH_H */
