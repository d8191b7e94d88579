/* krcu's liburcu compatibility headers: <urcu/arch.h>, memory barriers
 * and CPU helpers on C11 fences and GCC builtins. */
#ifndef KRCU_URCU_ARCH_H
#define KRCU_URCU_ARCH_H

#include <urcu/compiler.h>

#define CAA_CACHE_LINE_SIZE 128

/* The architecture, as liburcu names it (for code that tests it). */
#if defined(__x86_64__)
#define URCU_ARCH_X86 1
#define URCU_ARCH_AMD64 1
#elif defined(__i386__)
#define URCU_ARCH_X86 1
#define URCU_ARCH_I386 1
#elif defined(__aarch64__)
#define URCU_ARCH_AARCH64 1
#elif defined(__arm__)
#define URCU_ARCH_ARM 1
#elif defined(__powerpc64__)
#define URCU_ARCH_PPC 1
#define URCU_ARCH_PPC64 1
#elif defined(__riscv)
#define URCU_ARCH_RISCV 1
#elif defined(__s390__)
#define URCU_ARCH_S390 1
#endif

#define cmm_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define cmm_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define cmm_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define cmm_smp_mb() cmm_mb()
#define cmm_smp_rmb() cmm_rmb()
#define cmm_smp_wmb() cmm_wmb()
/* Dependent loads are ordered on every architecture krcu runs on. */
#define cmm_read_barrier_depends() cmm_barrier()
#define cmm_smp_read_barrier_depends() cmm_barrier()
/* Cache coherency is the hardware's on every architecture krcu runs on:
 * the cache-flush barriers are compiler barriers. */
#define cmm_mc() cmm_barrier()
#define cmm_rmc() cmm_barrier()
#define cmm_wmc() cmm_barrier()
#define cmm_smp_mc() cmm_barrier()
#define cmm_smp_rmc() cmm_barrier()
#define cmm_smp_wmc() cmm_barrier()

#if defined(__x86_64__) || defined(__i386__)
#define caa_cpu_relax() __builtin_ia32_pause()
#else
#define caa_cpu_relax() cmm_barrier()
#endif

/* A cycle counter for timing (liburcu's tests print cycles). */
#include <stdint.h>
typedef uint64_t caa_cycles_t;
#define HAS_CAA_GET_CYCLES
#if defined(__x86_64__) || defined(__i386__)
static inline caa_cycles_t caa_get_cycles(void) { return __builtin_ia32_rdtsc(); }
#else
#include <time.h>
static inline caa_cycles_t caa_get_cycles(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts))
        return -1ULL;
    return (caa_cycles_t)ts.tv_sec * 1000000000ULL + (caa_cycles_t)ts.tv_nsec;
}
#endif

#endif /* KRCU_URCU_ARCH_H */
