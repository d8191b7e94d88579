/* krcu's liburcu compatibility headers: <urcu/hlist.h>, liburcu's hash
 * bucket list: a one-pointer head and NULL-terminated nodes, for lists a
 * lock protects (the RCU forms are in <urcu/rcuhlist.h>).
 *
 * The layout is liburcu's: a node's prev points at the previous node, and
 * the first node's at the head, taken as a node (a head is a node's first
 * member, next, alone). */
#ifndef KRCU_URCU_HLIST_H
#define KRCU_URCU_HLIST_H

#include <stddef.h>
#include <urcu/compiler.h>

struct cds_hlist_head {
    struct cds_hlist_node *next;
};

struct cds_hlist_node {
    struct cds_hlist_node *next, *prev;
};

static inline void CDS_INIT_HLIST_HEAD(struct cds_hlist_head *ptr)
{
    ptr->next = NULL;
}

#define CDS_HLIST_HEAD_INIT(name) { .next = NULL }
#define CDS_HLIST_HEAD(name) struct cds_hlist_head name = CDS_HLIST_HEAD_INIT(name)

#define cds_hlist_entry(ptr, type, member) caa_container_of(ptr, type, member)
/* NULL for a NULL ptr. */
#define cds_hlist_entry_safe(ptr, type, member)                                      \
    ({                                                                               \
        __typeof__(ptr) krcu__hlist_ptr = (ptr);                                     \
        krcu__hlist_ptr ? cds_hlist_entry(krcu__hlist_ptr, type, member) : NULL;    \
    })

/* Adds newp at the front of head's list. */
static inline void cds_hlist_add_head(struct cds_hlist_node *newp, struct cds_hlist_head *head)
{
    if (head->next)
        head->next->prev = newp;
    newp->next = head->next;
    newp->prev = (struct cds_hlist_node *)head;
    head->next = newp;
}

/* Unlinks elem. */
static inline void cds_hlist_del(struct cds_hlist_node *elem)
{
    if (elem->next)
        elem->next->prev = elem->prev;
    elem->prev->next = elem->next;
}

#define cds_hlist_for_each(pos, head) for (pos = (head)->next; (pos) != NULL; pos = (pos)->next)
#define cds_hlist_for_each_safe(pos, p, head) \
    for (pos = (head)->next; ((pos) != NULL) && (p = (pos)->next, 1); pos = (p))
#define cds_hlist_for_each_entry(entry, pos, head, member)                     \
    for (pos = (head)->next, entry = cds_hlist_entry(pos, __typeof__(*(entry)), member); \
         (pos) != NULL;                                                         \
         pos = (pos)->next, entry = cds_hlist_entry(pos, __typeof__(*(entry)), member))
#define cds_hlist_for_each_entry_safe(entry, pos, p, head, member)             \
    for (pos = (head)->next, entry = cds_hlist_entry(pos, __typeof__(*(entry)), member); \
         ((pos) != NULL) && (p = (pos)->next, 1);                               \
         pos = (p), entry = cds_hlist_entry(pos, __typeof__(*(entry)), member))
/* The forms without a node cursor (liburcu 0.13 and later). */
#define cds_hlist_for_each_entry_2(entry, head, member)                            \
    for (entry = cds_hlist_entry_safe((head)->next, __typeof__(*(entry)), member); \
         (entry) != NULL;                                                          \
         entry = cds_hlist_entry_safe((entry)->member.next, __typeof__(*(entry)), member))
#define cds_hlist_for_each_entry_safe_2(entry, e, head, member)                          \
    for (entry = cds_hlist_entry_safe((head)->next, __typeof__(*(entry)), member);       \
         ((entry) != NULL) &&                                                            \
         (e = (cds_hlist_entry_safe((entry)->member.next, __typeof__(*(entry)), member)), 1); \
         entry = e)

#endif /* KRCU_URCU_HLIST_H */
