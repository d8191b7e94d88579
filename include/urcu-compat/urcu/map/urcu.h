/* krcu's liburcu compatibility headers: <urcu/map/urcu.h>, the short names
 * of the flavor <urcu/urcu.h> selects (RCU_MEMBARRIER, the default,
 * RCU_MB or RCU_SIGNAL). No include guard, as the other maps. */

#if defined(RCU_MB)
#include <urcu/map/urcu-mb.h>
#elif defined(RCU_SIGNAL)
#include <urcu/map/urcu-signal.h>
#else
#include <urcu/map/urcu-memb.h>
#endif
