/* krcu's liburcu compatibility headers: <urcu/list.h>, liburcu's circular
 * doubly linked list (the kernel's list_head), for lists a lock protects.
 * The RCU forms (readers walk while one updater changes the list) are in
 * <urcu/rculist.h>. struct cds_list_head has liburcu's layout: next, then
 * prev; an empty list's head points at itself both ways. */
#ifndef KRCU_URCU_LIST_H
#define KRCU_URCU_LIST_H

#include <urcu/compiler.h>

struct cds_list_head {
    struct cds_list_head *next, *prev;
};

#define CDS_LIST_HEAD_INIT(name) { .next = &(name), .prev = &(name) }
#define CDS_LIST_HEAD(name) struct cds_list_head name = CDS_LIST_HEAD_INIT(name)
#define CDS_INIT_LIST_HEAD(ptr) \
    do {                        \
        (ptr)->next = (ptr);    \
        (ptr)->prev = (ptr);    \
    } while (0)

/* Links newp between prev and next. */
static inline void krcu__list_link(struct cds_list_head *newp, struct cds_list_head *prev,
                                   struct cds_list_head *next)
{
    next->prev = newp;
    newp->next = next;
    newp->prev = prev;
    prev->next = newp;
}

/* Adds newp right after head (a stack's push). */
static inline void cds_list_add(struct cds_list_head *newp, struct cds_list_head *head)
{
    krcu__list_link(newp, head, head->next);
}

/* Adds newp right before head: at the list's tail (a queue's push). */
static inline void cds_list_add_tail(struct cds_list_head *newp, struct cds_list_head *head)
{
    krcu__list_link(newp, head->prev, head);
}

/* Joins prev and next, unlinking whatever was between them. */
static inline void __cds_list_del(struct cds_list_head *prev, struct cds_list_head *next)
{
    next->prev = prev;
    prev->next = next;
}

/* Unlinks elem; its own pointers are left as they were. */
static inline void cds_list_del(struct cds_list_head *elem)
{
    __cds_list_del(elem->prev, elem->next);
}

/* Unlinks elem and makes it an empty list of its own. */
static inline void cds_list_del_init(struct cds_list_head *elem)
{
    cds_list_del(elem);
    CDS_INIT_LIST_HEAD(elem);
}

/* Moves elem to right after head. */
static inline void cds_list_move(struct cds_list_head *elem, struct cds_list_head *head)
{
    __cds_list_del(elem->prev, elem->next);
    cds_list_add(elem, head);
}

/* Puts _new where old is. */
static inline void cds_list_replace(struct cds_list_head *old, struct cds_list_head *_new)
{
    _new->next = old->next;
    _new->prev = old->prev;
    _new->prev->next = _new;
    _new->next->prev = _new;
}

/* Moves every element of the list add to right after head (add's head is
 * left as it was: reinitialise it before using it again). */
static inline void cds_list_splice(struct cds_list_head *add, struct cds_list_head *head)
{
    if (add != add->next) {
        add->next->prev = head;
        add->prev->next = head->next;
        head->next->prev = add->prev;
        head->next = add->next;
    }
}

static inline int cds_list_empty(struct cds_list_head *head)
{
    return head == head->next;
}

/* Puts _new where old is and makes old an empty list. */
static inline void cds_list_replace_init(struct cds_list_head *old, struct cds_list_head *_new)
{
    struct cds_list_head *head = old->next;

    cds_list_del(old);
    cds_list_add_tail(_new, head);
    CDS_INIT_LIST_HEAD(old);
}

#define cds_list_entry(ptr, type, member) caa_container_of(ptr, type, member)
#define cds_list_first_entry(ptr, type, member) cds_list_entry((ptr)->next, type, member)

#define cds_list_for_each(pos, head) for (pos = (head)->next; (pos) != (head); pos = (pos)->next)
#define cds_list_for_each_prev(pos, head) \
    for (pos = (head)->prev; (pos) != (head); pos = (pos)->prev)
/* The _safe forms read the next element first: pos may be deleted. */
#define cds_list_for_each_safe(pos, p, head) \
    for (pos = (head)->next, p = (pos)->next; (pos) != (head); pos = (p), p = (pos)->next)
#define cds_list_for_each_prev_safe(pos, p, head) \
    for (pos = (head)->prev, p = (pos)->prev; (pos) != (head); pos = (p), p = (pos)->prev)
#define cds_list_for_each_entry(pos, head, member)                          \
    for (pos = cds_list_entry((head)->next, __typeof__(*(pos)), member);   \
         &(pos)->member != (head);                                           \
         pos = cds_list_entry((pos)->member.next, __typeof__(*(pos)), member))
#define cds_list_for_each_entry_reverse(pos, head, member)                  \
    for (pos = cds_list_entry((head)->prev, __typeof__(*(pos)), member);   \
         &(pos)->member != (head);                                           \
         pos = cds_list_entry((pos)->member.prev, __typeof__(*(pos)), member))
#define cds_list_for_each_entry_safe(pos, p, head, member)                  \
    for (pos = cds_list_entry((head)->next, __typeof__(*(pos)), member),   \
        p = cds_list_entry((pos)->member.next, __typeof__(*(pos)), member);  \
         &(pos)->member != (head);                                           \
         pos = (p), p = cds_list_entry((pos)->member.next, __typeof__(*(pos)), member))
/* From pos (included) to the end. */
#define cds_list_for_each_entry_safe_from(pos, p, head, member)             \
    for (p = cds_list_entry((pos)->member.next, __typeof__(*(pos)), member); \
         &(pos)->member != (head);                                           \
         pos = (p), p = cds_list_entry((pos)->member.next, __typeof__(*(pos)), member))

#endif /* KRCU_URCU_LIST_H */
