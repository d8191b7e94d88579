/* krcu's liburcu compatibility headers: <urcu/config.h>, the configuration
 * macros liburcu's configure writes, as they are true of krcu on Linux:
 * SMP-safe, compiler TLS, clock_gettime, and several flavors in one
 * program. CONFIG_RCU_FORCE_SYS_MEMBARRIER is not defined: krcu falls
 * back to real fences where membarrier() is missing. */
#ifndef KRCU_URCU_CONFIG_H
#define KRCU_URCU_CONFIG_H

#define CONFIG_RCU_SMP 1
#define CONFIG_RCU_TLS 1
#define CONFIG_RCU_HAVE_CLOCK_GETTIME 1
#define CONFIG_RCU_HAVE_MULTIFLAVOR 1

#endif /* KRCU_URCU_CONFIG_H */
