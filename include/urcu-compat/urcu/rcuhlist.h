/* krcu's liburcu compatibility headers: <urcu/rcuhlist.h>, RCU forms of
 * <urcu/hlist.h>: readers walk a bucket inside a read-side critical
 * section while updaters, serialised by a lock of the program's, add and
 * delete. As in <urcu/rculist.h>: a node is initialised before the
 * release store (rcu_assign_pointer) that publishes it, readers follow
 * next pointers with rcu_dereference and never prev, and a deleted node
 * keeps its next pointer and is freed after a grace period. */
#ifndef KRCU_URCU_RCUHLIST_H
#define KRCU_URCU_RCUHLIST_H

#include <urcu/hlist.h>
#include <urcu/pointer.h>
#include <urcu/system.h>

/* Adds newp at the front of head's list. */
static inline void cds_hlist_add_head_rcu(struct cds_hlist_node *newp, struct cds_hlist_head *head)
{
    newp->next = head->next;
    newp->prev = (struct cds_hlist_node *)head;
    if (head->next)
        head->next->prev = newp;
    /* Release: newp's fields before readers can reach it. */
    rcu_assign_pointer(head->next, newp);
}

/* Unlinks elem; it keeps its next pointer for readers standing on it. */
static inline void cds_hlist_del_rcu(struct cds_hlist_node *elem)
{
    if (elem->next)
        elem->next->prev = elem->prev;
    /* Nothing new is published: the successor was reachable already. */
    CMM_STORE_SHARED(elem->prev->next, elem->next);
}

/* Inside a read-side critical section. */
#define cds_hlist_for_each_rcu(pos, head) \
    for (pos = rcu_dereference((head)->next); (pos) != NULL; pos = rcu_dereference((pos)->next))
#define cds_hlist_for_each_entry_rcu(entry, pos, head, member)                                   \
    for (pos = rcu_dereference((head)->next),                                                     \
        entry = cds_hlist_entry(pos, __typeof__(*(entry)), member);                               \
         (pos) != NULL; pos = rcu_dereference((pos)->next),                                       \
        entry = cds_hlist_entry(pos, __typeof__(*(entry)), member))
#define cds_hlist_for_each_entry_rcu_2(entry, head, member)                                         \
    for (entry = cds_hlist_entry_safe(rcu_dereference((head)->next), __typeof__(*(entry)), member); \
         (entry) != NULL;                                                                           \
         entry = cds_hlist_entry_safe(rcu_dereference((entry)->member.next), __typeof__(*(entry)),  \
                                      member))

#endif /* KRCU_URCU_RCUHLIST_H */
