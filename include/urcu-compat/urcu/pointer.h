/* krcu's liburcu compatibility headers: <urcu/pointer.h>, publishing and
 * reading RCU-protected pointers.
 *
 * Orderings (each as liburcu documents it):
 *   rcu_dereference(p)      a load that orders what is read through the
 *                           pointer after it (consume; acquire in practice);
 *   rcu_set_pointer(p, v),
 *   rcu_assign_pointer(p, v) a release store: the object's initialisation
 *                           is visible before the pointer;
 *   rcu_xchg_pointer(p, v),
 *   rcu_cmpxchg_pointer(p, old, new)  full barriers, returning the old
 *                           pointer. */
#ifndef KRCU_URCU_POINTER_H
#define KRCU_URCU_POINTER_H

#include <urcu/compiler.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#define rcu_dereference(p) \
    __extension__({ __typeof__(p) _krcu_p1 = __atomic_load_n(&(p), __ATOMIC_CONSUME); (_krcu_p1); })

#define rcu_set_pointer(p, v)                                 \
    do {                                                      \
        __typeof__(*(p)) _krcu_pv = (v);                      \
        __atomic_store_n((p), _krcu_pv, __ATOMIC_RELEASE);    \
    } while (0)

#define rcu_assign_pointer(p, v) rcu_set_pointer(&(p), (v))

#define rcu_xchg_pointer(p, v)                                       \
    __extension__({                                                  \
        __typeof__(*(p)) _krcu_pv = (v);                             \
        __atomic_exchange_n((p), _krcu_pv, __ATOMIC_SEQ_CST);        \
    })

#define rcu_cmpxchg_pointer(p, old, _new)                                              \
    __extension__({                                                                    \
        __typeof__(*(p)) _krcu_pold = (old);                                           \
        __typeof__(*(p)) _krcu_pnew = (_new);                                          \
        __atomic_compare_exchange_n((p), &_krcu_pold, _krcu_pnew, 0, __ATOMIC_SEQ_CST, \
                                    __ATOMIC_SEQ_CST);                                 \
        _krcu_pold;                                                                    \
    })

/* The underscore forms liburcu's static headers define (_LGPL_SOURCE). */
#define _rcu_dereference rcu_dereference
#define _rcu_set_pointer rcu_set_pointer
#define _rcu_assign_pointer rcu_assign_pointer
#define _rcu_xchg_pointer rcu_xchg_pointer
#define _rcu_cmpxchg_pointer rcu_cmpxchg_pointer

#endif /* KRCU_URCU_POINTER_H */
