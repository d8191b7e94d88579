/* krcu's liburcu compatibility headers: <urcu/rculist.h>, RCU forms of
 * <urcu/list.h>: readers walk the list forward inside a read-side
 * critical section while updaters, serialised by a lock of the program's,
 * add, replace and delete.
 *
 * The one ordering readers need: an element is fully initialised, its
 * next pointer included, before the store that makes it reachable. So
 * every store a reader may follow (a predecessor's next) is
 * rcu_assign_pointer (a release store), every load a reader follows
 * rcu_dereference (a consume load, an acquire on compilers without
 * consume), and the prev pointers, which readers never follow, are plain.
 * A deleted element keeps its next pointer, so a reader standing on it
 * walks on to the rest of the list; free it only after a grace period
 * (call_rcu, synchronize_rcu, or krcu's kfree_rcu). */
#ifndef KRCU_URCU_RCULIST_H
#define KRCU_URCU_RCULIST_H

#include <urcu/list.h>
#include <urcu/pointer.h>
#include <urcu/system.h>

/* Adds newp right after head. */
static inline void cds_list_add_rcu(struct cds_list_head *newp, struct cds_list_head *head)
{
    newp->next = head->next;
    newp->prev = head;
    head->next->prev = newp;
    /* Release: newp's fields before readers can reach it. */
    rcu_assign_pointer(head->next, newp);
}

/* Adds newp at the list's tail (right before head). */
static inline void cds_list_add_tail_rcu(struct cds_list_head *newp, struct cds_list_head *head)
{
    newp->next = head;
    newp->prev = head->prev;
    /* Release: newp's fields before readers can reach it. */
    rcu_assign_pointer(head->prev->next, newp);
    head->prev = newp;
}

/* Puts _new where old is: a reader sees one or the other, never neither.
 * old keeps its pointers (a reader on it walks on); free it after a grace
 * period. */
static inline void cds_list_replace_rcu(struct cds_list_head *old, struct cds_list_head *_new)
{
    _new->next = old->next;
    _new->prev = old->prev;
    /* Release: _new's fields before readers can reach it. */
    rcu_assign_pointer(_new->prev->next, _new);
    _new->next->prev = _new;
}

/* Unlinks elem. Its next pointer is kept, for readers standing on it;
 * free it after a grace period. */
static inline void cds_list_del_rcu(struct cds_list_head *elem)
{
    elem->next->prev = elem->prev;
    /* Nothing new is published: the successor was reachable already. */
    CMM_STORE_SHARED(elem->prev->next, elem->next);
}

/* Inside a read-side critical section. */
#define cds_list_for_each_rcu(pos, head) \
    for (pos = rcu_dereference((head)->next); (pos) != (head); pos = rcu_dereference((pos)->next))

#define cds_list_for_each_entry_rcu(pos, head, member)                                      \
    for (pos = cds_list_entry(rcu_dereference((head)->next), __typeof__(*(pos)), member); \
         &(pos)->member != (head);                                                           \
         pos = cds_list_entry(rcu_dereference((pos)->member.next), __typeof__(*(pos)), member))

#endif /* KRCU_URCU_RCULIST_H */
