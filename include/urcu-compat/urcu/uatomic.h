/* krcu's liburcu compatibility headers: <urcu/uatomic.h> on GCC's atomic
 * builtins. As in liburcu, the operations that return a value (xchg,
 * cmpxchg, add_return, sub_return) are full barriers; uatomic_read, set,
 * add, sub, inc, dec, and, or are not (pair them with the
 * cmm_smp_mb__before_ / __after_ macros). */
#ifndef KRCU_URCU_UATOMIC_H
#define KRCU_URCU_UATOMIC_H

#include <urcu/compiler.h>
#include <urcu/system.h>

#define uatomic_read(addr) __atomic_load_n((addr), __ATOMIC_RELAXED)
#define uatomic_set(addr, v) ((void)__atomic_store_n((addr), (v), __ATOMIC_RELAXED))

#define uatomic_xchg(addr, v) __atomic_exchange_n((addr), (v), __ATOMIC_SEQ_CST)
#define uatomic_cmpxchg(addr, old, _new)                                        \
    __extension__({                                                             \
        __typeof__(*(addr)) _krcu_old = (old);                                  \
        __atomic_compare_exchange_n((addr), &_krcu_old, (_new), 0, __ATOMIC_SEQ_CST, \
                                    __ATOMIC_SEQ_CST);                          \
        _krcu_old;                                                              \
    })
#define uatomic_add_return(addr, v) __atomic_add_fetch((addr), (v), __ATOMIC_SEQ_CST)
#define uatomic_sub_return(addr, v) __atomic_sub_fetch((addr), (v), __ATOMIC_SEQ_CST)

#define uatomic_add(addr, v) ((void)__atomic_add_fetch((addr), (v), __ATOMIC_RELAXED))
#define uatomic_sub(addr, v) ((void)__atomic_sub_fetch((addr), (v), __ATOMIC_RELAXED))
#define uatomic_inc(addr) uatomic_add((addr), 1)
#define uatomic_dec(addr) uatomic_sub((addr), 1)
#define uatomic_and(addr, v) ((void)__atomic_and_fetch((addr), (v), __ATOMIC_RELAXED))
#define uatomic_or(addr, v) ((void)__atomic_or_fetch((addr), (v), __ATOMIC_RELAXED))

#define cmm_smp_mb__before_uatomic_add() cmm_smp_mb()
#define cmm_smp_mb__after_uatomic_add() cmm_smp_mb()
#define cmm_smp_mb__before_uatomic_sub() cmm_smp_mb()
#define cmm_smp_mb__after_uatomic_sub() cmm_smp_mb()
#define cmm_smp_mb__before_uatomic_inc() cmm_smp_mb()
#define cmm_smp_mb__after_uatomic_inc() cmm_smp_mb()
#define cmm_smp_mb__before_uatomic_dec() cmm_smp_mb()
#define cmm_smp_mb__after_uatomic_dec() cmm_smp_mb()
#define cmm_smp_mb__before_uatomic_and() cmm_smp_mb()
#define cmm_smp_mb__after_uatomic_and() cmm_smp_mb()
#define cmm_smp_mb__before_uatomic_or() cmm_smp_mb()
#define cmm_smp_mb__after_uatomic_or() cmm_smp_mb()

#endif /* KRCU_URCU_UATOMIC_H */
