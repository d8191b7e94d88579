/* The memb read side of libkrcu's C face, in C: the initial-exec
 * thread-local that krcu.h's inline read side uses, and the exported
 * krcu_read_lock / krcu_read_unlock built from the same inline code. An
 * initial-exec access is a load from %fs; a Rust thread-local in a shared
 * library costs a __tls_get_addr call, which is why this part is C. The
 * thread-local is set and cleared from Rust (inline.rs). */
#define KRCU_NO_INLINE /* this file defines the exported functions */
#include <stddef.h>

#include "../include/krcu_read_side.h"

__thread struct krcu__memb_tls krcu__memb_tls __attribute__((tls_model("initial-exec")));

void krcu__set_memb_tls(uint64_t *word, void *gp);

void krcu__set_memb_tls(uint64_t *word, void *gp)
{
    krcu__memb_tls.gp = (struct krcu__memb_gp_words *)gp;
    krcu__memb_tls.word = word;
}

void krcu_read_lock(void)
{
    krcu_read_lock_inline();
}

void krcu_read_unlock(void)
{
    krcu_read_unlock_inline();
}

void krcu_memb_read_lock(void)
{
    krcu_read_lock_inline();
}

void krcu_memb_read_unlock(void)
{
    krcu_read_unlock_inline();
}
