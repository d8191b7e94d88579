/* krcu's liburcu compatibility headers: <urcu-mb.h>, liburcu's mb flavor
 * on krcu's memb flavor (see <urcu/urcu-mb.h>). */
#ifndef KRCU_URCU_MB_TOP_H
#define KRCU_URCU_MB_TOP_H

#define URCU_API_MAP
#include <urcu/urcu-mb.h>

#endif /* KRCU_URCU_MB_TOP_H */
