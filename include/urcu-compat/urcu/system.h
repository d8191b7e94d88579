/* krcu's liburcu compatibility headers: <urcu/system.h>, shared loads and
 * stores the compiler performs exactly once. */
#ifndef KRCU_URCU_SYSTEM_H
#define KRCU_URCU_SYSTEM_H

#include <urcu/compiler.h>
#include <urcu/arch.h>

#define _CMM_LOAD_SHARED(p) CMM_ACCESS_ONCE(p)
#define CMM_LOAD_SHARED(p) \
    __extension__({ cmm_smp_rmc(); _CMM_LOAD_SHARED(p); })
#define _CMM_STORE_SHARED(x, v) __extension__({ CMM_ACCESS_ONCE(x) = (v); })
#define CMM_STORE_SHARED(x, v)                      \
    __extension__({                                 \
        __typeof__(x) _krcu_v = _CMM_STORE_SHARED(x, v); \
        cmm_smp_wmc();                              \
        _krcu_v;                                    \
    })

#endif /* KRCU_URCU_SYSTEM_H */
