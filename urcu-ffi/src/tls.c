/* The thread-local that krcu.h's inline read side uses: this thread's memb
 * record word, in the initial-exec TLS model so that an inline
 * krcu_read_lock reaches it with one %fs-relative load instead of a
 * __tls_get_addr call (Rust thread-locals in a shared library use the
 * general-dynamic model). Set and cleared from Rust (urcu-ffi's inline.rs). */
#include <stdint.h>

__thread uint64_t *krcu__memb_word __attribute__((tls_model("initial-exec")));

/* memb's counter group ({ uint64_t ctr; uint32_t futex; uint8_t
 * reader_fences; }), set before any thread's word is. */
void *krcu__memb_gp;

void krcu__set_memb_word(uint64_t *word)
{
    krcu__memb_word = word;
}

void krcu__set_memb_gp(void *gp)
{
    __atomic_store_n(&krcu__memb_gp, gp, __ATOMIC_RELAXED);
}
