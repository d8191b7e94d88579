/* krcu's liburcu compatibility headers: <urcu-flavor.h> (see <urcu/flavor.h>). */
#ifndef KRCU_URCU_FLAVOR_TOP_H
#define KRCU_URCU_FLAVOR_TOP_H

#include <urcu/flavor.h>

#endif /* KRCU_URCU_FLAVOR_TOP_H */
