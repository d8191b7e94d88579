/* krcu's liburcu compatibility headers: <urcu/urcu-poll.h>. A poll state
 * holds a krcu grace-period cookie; it is satisfied by any grace period of
 * its flavor, normal or expedited. */
#ifndef KRCU_URCU_POLL_H
#define KRCU_URCU_POLL_H

struct urcu_gp_poll_state {
    unsigned long grace_period_id;
};

#endif /* KRCU_URCU_POLL_H */
