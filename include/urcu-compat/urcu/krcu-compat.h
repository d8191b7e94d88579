/* krcu's liburcu compatibility headers: an internal part of every flavor
 * header. When the program starts, it tells libkrcu that the program
 * speaks liburcu's names, so that krcu's reports and abort messages name
 * synchronize_rcu(), rcu_read_unlock(), ... rather than krcu.h's
 * krcu_synchronize_rcu(), krcu_read_unlock(). */
#ifndef KRCU_URCU_KRCU_COMPAT_H
#define KRCU_URCU_KRCU_COMPAT_H

#ifdef __cplusplus
extern "C" {
#endif

void krcu__speak_liburcu(void);

__attribute__((constructor, used)) static void krcu__liburcu_program(void)
{
    krcu__speak_liburcu();
}

#ifdef __cplusplus
}
#endif

#endif /* KRCU_URCU_KRCU_COMPAT_H */
