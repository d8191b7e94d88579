/* KRCU_API marks every function krcu.h declares. With a compiler that has
 * the noplt attribute (GCC on x86), position-independent code calls them
 * through the GOT, one indirect call, instead of a call to a PLT stub that
 * jumps through the GOT: a krcu_read_lock/krcu_read_unlock pair through the
 * exported functions costs a fifth less. Define KRCU_API (empty) before
 * including krcu.h to keep PLT calls, for example for ltrace. */
#ifndef KRCU_API
#ifdef __has_attribute
#if __has_attribute(noplt)
#define KRCU_API __attribute__((noplt))
#endif
#endif
#endif
#ifndef KRCU_API
#define KRCU_API
#endif
