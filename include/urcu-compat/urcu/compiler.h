/* krcu's liburcu compatibility headers: <urcu/compiler.h>.
 *
 * Written for krcu (not copied from liburcu): the names and meanings of
 * liburcu's compiler helpers, on GCC and Clang builtins. */
#ifndef KRCU_URCU_COMPILER_H
#define KRCU_URCU_COMPILER_H

#include <stddef.h>

#define caa_likely(x) __builtin_expect(!!(x), 1)
#define caa_unlikely(x) __builtin_expect(!!(x), 0)

/* A compiler barrier. */
#define cmm_barrier() __asm__ __volatile__("" : : : "memory")

/* One access the compiler may neither merge, split nor move across other
 * volatile accesses. */
#define CMM_ACCESS_ONCE(x) (*(__volatile__ __typeof__(x) *)&(x))

#define caa_max(a, b) ((a) > (b) ? (a) : (b))
#define caa_min(a, b) ((a) < (b) ? (a) : (b))

#define caa_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define CAA_BUILD_BUG_ON(condition) ((void)sizeof(char[1 - 2 * !!(condition)]))
#define CAA_BUILD_BUG_ON_ZERO(condition) (sizeof(struct { int : -!!(condition); }))
#define CAA_ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

#define CAA_BITS_PER_LONG (__SIZEOF_LONG__ * 8)

/* Marks a declaration deprecated, with liburcu's message. */
#define CDS_DEPRECATED(msg) __attribute__((deprecated(msg)))

#define caa_unused __attribute__((unused))
#define __rcu
#define URCU_FORCE_CAST(type, arg) ((type)(arg))
#define caa_is_signed_type(type) ((type)-1 < (type)0)
#define caa_cast_long_keep_sign(v) \
    (caa_is_signed_type(__typeof__(v)) ? (long)(v) : (long)(unsigned long)(v))

#endif /* KRCU_URCU_COMPILER_H */
