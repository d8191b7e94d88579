/* krcu's liburcu compatibility headers: <urcu/tls-compat.h>, thread-local
 * variables under liburcu's macro names, on the compiler's __thread. */
#ifndef KRCU_URCU_TLS_COMPAT_H
#define KRCU_URCU_TLS_COMPAT_H

#define DECLARE_URCU_TLS(type, name) __thread type name
#define DEFINE_URCU_TLS(type, name) __thread type name
#define DEFINE_URCU_TLS_INIT(type, name, init) __thread type name = (init)
#define URCU_TLS(name) (name)

#endif /* KRCU_URCU_TLS_COMPAT_H */
