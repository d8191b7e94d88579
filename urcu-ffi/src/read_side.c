/* The memb read side of libkrcu's C face, in C: the initial-exec
 * thread-local that krcu.h's inline read side uses, and the exported
 * krcu_read_lock / krcu_read_unlock built from the same inline code. An
 * initial-exec access is a load from %fs; a Rust thread-local in a shared
 * library costs a __tls_get_addr call, which is why this part is C. The
 * thread-local is this thread's memb record word itself (krcu registers
 * the thread with it, see urcu_core::foreign); the counter group the code
 * reads, krcu__memb_gp_v3, is urcu-core's. */
#define KRCU_NO_INLINE /* this file defines the exported functions */
#include <stddef.h>

#include "../include/krcu_api.h"
#include "../include/krcu_read_side.h"

/* Unregistered until the thread's first read section. */
__thread uint64_t krcu__memb_word_v3 __attribute__((tls_model("initial-exec"))) = KRCU__UNREGISTERED;

/* Whether this thread is online with qsbr, as of its last C call into
 * krcu that could change it (see liburcu.rs): what the liburcu compat
 * headers' inline rcu_read_ongoing() reads for qsbr, as liburcu's reads
 * its reader's counter. */
__thread unsigned char krcu__qsbr_online_v1 __attribute__((tls_model("initial-exec")));

unsigned char *krcu__qsbr_online_addr(void);

/* This thread's qsbr online mirror, for krcu to keep up to date. */
unsigned char *krcu__qsbr_online_addr(void)
{
    return &krcu__qsbr_online_v1;
}

uint64_t *krcu__memb_word_addr(void);
void krcu__memb_use_tls_words(void); /* inline.rs */

/* This thread's memb record word, for krcu's registration. */
uint64_t *krcu__memb_word_addr(void)
{
    return &krcu__memb_word_v3;
}

/* Before anything can register a thread with memb: every thread's record
 * word is krcu__memb_word_v3. */
__attribute__((constructor)) static void krcu__init_read_side(void)
{
    krcu__memb_use_tls_words();
}

/* The exported read side starts on a cache line of its own: where the
 * linker happens to place it otherwise moves the cost of a call through
 * the PLT by several percent from one build to the next. */
#define KRCU__HOT __attribute__((aligned(64)))

KRCU__HOT void krcu_read_lock(void)
{
    krcu_read_lock_inline();
}

KRCU__HOT void krcu_read_unlock(void)
{
    krcu_read_unlock_inline();
}

KRCU__HOT void krcu_memb_read_lock(void)
{
    krcu_read_lock_inline();
}

KRCU__HOT void krcu_memb_read_unlock(void)
{
    krcu_read_unlock_inline();
}

/* liburcu's names for the same read side (the compat headers inline it;
 * these are for code that calls or takes the address of the functions).
 * bp and mb are krcu's memb flavor. */
KRCU__HOT void urcu_memb_read_lock(void)
{
    krcu_read_lock_inline();
}

KRCU__HOT void urcu_memb_read_unlock(void)
{
    krcu_read_unlock_inline();
}

void urcu_bp_read_lock(void) __attribute__((alias("urcu_memb_read_lock")));
void urcu_bp_read_unlock(void) __attribute__((alias("urcu_memb_read_unlock")));
void urcu_mb_read_lock(void) __attribute__((alias("urcu_memb_read_lock")));
void urcu_mb_read_unlock(void) __attribute__((alias("urcu_memb_read_unlock")));
void urcu_signal_read_lock(void) __attribute__((alias("urcu_memb_read_lock")));
void urcu_signal_read_unlock(void) __attribute__((alias("urcu_memb_read_unlock")));
