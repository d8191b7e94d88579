/* krcu's liburcu compatibility headers: <urcu/syscall-compat.h>: the
 * system headers that declare syscall() and the syscall numbers. */
#ifndef KRCU_URCU_SYSCALL_COMPAT_H
#define KRCU_URCU_SYSCALL_COMPAT_H

#include <unistd.h>
#include <sys/syscall.h>

#endif /* KRCU_URCU_SYSCALL_COMPAT_H */
