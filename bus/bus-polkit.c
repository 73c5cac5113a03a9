/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Administrators through polkit, on the system bus.
 *
 * Root may do anything; a job's owner may use the job. Everything else an unprivileged caller
 * asks for that only root could do — acting on another user's job, listing every user's jobs,
 * changing the daemon's settings — is asked of polkit (org.freedesktop.PolicyKit1), under the
 * actions org.xferd.Transfer1.manage-all and org.xferd.Transfer1.configure. Without polkit on
 * the bus the answer is no: root only.
 *
 * polkit may take long (it may ask the user for a password): the loop never waits for it. A
 * call that needs an answer is held back by a bus filter before it is dispatched, polkit is
 * asked asynchronously, and with the answer the same message is queued for reading again.
 * Then the filter finds the verdict and marks the message as authorized for its dispatch, and
 * the ordinary access checks (bus-access.c) read that mark. A refused call is dispatched
 * unmarked and gets the ordinary AccessDenied. Each call asks afresh; polkit's own
 * auth_admin_keep spares the admin a second password. */
#include <string.h>

#include "bus.h"
#include "list.h"
#include "log.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* Calls held for polkit's answer, of one sender and in all: polkit may wait as long as a user
 * leaves its prompt open, and each call holds its message (up to the bus's largest). Bounded in
 * number and in bytes (a sender's first held call, and the first of all, pass whatever their
 * size, so that any call can be asked about). */
#define POLKIT_MAX_HELD_SENDER 32
#define POLKIT_MAX_HELD 256
#define POLKIT_MAX_HELD_BYTES_SENDER ((size_t) 16 * 1024 * 1024)
#define POLKIT_MAX_HELD_BYTES ((size_t) 64 * 1024 * 1024)
/* CheckAuthorization's flag that lets polkit ask the user (the caller allowed it). */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct PolkitQuery {
        ListNode node;                  /* in its owner's queries from start to free */
        BusPolkit *owner;
        sd_bus_message *request;        /* the held-back call */
        size_t bytes;                   /* its size (bus_message_size()) */
        sd_bus_slot *slot;              /* the pending CheckAuthorization, NULL once answered */
        bool answered;
        bool allowed;
} PolkitQuery;

struct BusPolkit {
        Bus *bus;
        sd_bus_slot *filter;
        List queries;
        unsigned n_queries;
        size_t held_bytes;              /* of the queries' requests */
        sd_bus_message *authorized;     /* the message being dispatched, if polkit allowed it */
};

/* The polkit action of each BusAction (none for BUS_ACTION_NONE). */
static const char *const action_ids[] = {
        [BUS_ACTION_MANAGE_ALL] = "org.xferd.Transfer1.manage-all",
        [BUS_ACTION_CONFIGURE] = "org.xferd.Transfer1.configure",
};

static const char *action_id(BusAction a) {
        return string_table_get(action_ids, ELEMENTSOF(action_ids), a);
}

static PolkitQuery *query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        list_remove(&q->owner->queries, &q->node);
        q->owner->n_queries--;
        q->owner->held_bytes -= q->bytes;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        return mfree(q);
}

static PolkitQuery *query_find(BusPolkit *p, sd_bus_message *m) {
        for (PolkitQuery *q = LIST_ENTRY(p->queries.head, PolkitQuery, node); q;
             q = LIST_ENTRY(q->node.next, PolkitQuery, node))
                if (q->request == m)
                        return q;
        return NULL;
}

/* Whether one more call of m's sender may be held for polkit's answer, and its size (measured
 * only when it may, and only as far as the room left): the held calls are a few hundred at most.
 * A sender's first held call, and the first of all, may be as large as any. */
static bool query_room(BusPolkit *p, sd_bus_message *m, size_t *ret_bytes) {
        const char *sender = sd_bus_message_get_sender(m);
        size_t sender_bytes = 0, room = SIZE_MAX;
        unsigned n = 0;

        if (p->n_queries >= POLKIT_MAX_HELD)
                return false;
        for (PolkitQuery *q = LIST_ENTRY(p->queries.head, PolkitQuery, node); q;
             q = LIST_ENTRY(q->node.next, PolkitQuery, node))
                if (streq_ptr(sd_bus_message_get_sender(q->request), sender)) {
                        n++;
                        sender_bytes += q->bytes;
                }
        if (n >= POLKIT_MAX_HELD_SENDER)
                return false;
        if (n > 0)
                room = sender_bytes < POLKIT_MAX_HELD_BYTES_SENDER ? POLKIT_MAX_HELD_BYTES_SENDER - sender_bytes : 0;
        if (p->held_bytes > 0) {
                size_t all = p->held_bytes < POLKIT_MAX_HELD_BYTES ? POLKIT_MAX_HELD_BYTES - p->held_bytes : 0;
                room = all < room ? all : room;
        }
        *ret_bytes = bus_message_size(m, room);
        return *ret_bytes <= room;
}

static int on_check_authorization(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        BusPolkit *p = q->owner;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->answered = true;
        if (e) {
                /* No polkit on the bus (ServiceUnknown, NameHasNoOwner) is the common case. */
                log_debug("polkit did not answer (%s): only root is an administrator.", e->name);
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        log_warning_errno(r, "polkit's answer cannot be read, taking it as no");
                else
                        q->allowed = authorized;
        }

        /* Dispatch the held-back call again, now with a verdict. */
        r = sd_bus_enqueue_for_read(p->bus->bus, q->request);
        if (r < 0) {
                log_warning_errno(r, "Cannot dispatch a call held for polkit again");
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_NO_MEMORY,
                                                  "The call could not be dispatched after its authorization.");
                query_free(q);
        }
        return 0;
}

static int query_start(BusPolkit *p, sd_bus_message *m, size_t bytes, BusAction action) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        PolkitQuery *q;
        uint32_t flags = 0;
        int r;

        r = sd_bus_message_new_method_call(p->bus->bus, &call, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        /* The subject is the caller's bus name: polkit asks the bus who that is. */
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(m), action_id(action));
        if (r < 0)
                return r;
        /* Listing every job through the object manager is a quiet extra, never a password
         * prompt: without an answer a caller gets its own jobs. */
        if (sd_bus_message_get_allow_interactive_authorization(m) > 0 &&
            !sd_bus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"))
                flags |= POLKIT_ALLOW_USER_INTERACTION;
        r = sd_bus_message_append(call, "a{ss}us", 0, flags, "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->owner = p;
        q->request = sd_bus_message_ref(m);
        q->bytes = bytes;
        list_append(&p->queries, &q->node);
        p->n_queries++;
        p->held_bytes += bytes;
        /* No timeout of our own: polkit may wait for a password as long as it must. */
        r = sd_bus_call_async(p->bus->bus, &q->slot, call, on_check_authorization, q, UINT64_MAX);
        if (r < 0) {
                query_free(q);
                return r;
        }
        return 0;
}

static int on_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusPolkit *p = userdata;
        PolkitQuery *q;
        BusAction action;
        size_t bytes;
        uint8_t type;
        int r;

        if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        p->authorized = NULL;

        q = query_find(p, m);
        if (q) {
                if (!q->answered)
                        return 1;       /* still held back */
                if (q->allowed)
                        p->authorized = m;
                query_free(q);
                return 0;
        }

        action = bus_access_needed_action(p->bus, m);
        if (action == BUS_ACTION_NONE)
                return 0;
        if (!query_room(p, m, &bytes)) {
                (void) sd_bus_reply_method_errorf(m, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                  "Too many calls wait for polkit's answer; try again later.");
                return 1;
        }
        r = query_start(p, m, bytes, action);
        if (r < 0) {
                /* Dispatched without authorization: the ordinary checks refuse it. */
                log_warning_errno(r, "Cannot ask polkit");
                return 0;
        }
        return 1;
}

int bus_polkit_new(Bus *b, BusPolkit **ret) {
        _cleanup_(bus_polkit_freep) BusPolkit *p = NULL;
        int r;

        assert(b);
        assert(b->bus);
        assert(ret);

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->bus = b;
        r = sd_bus_add_filter(b->bus, &p->filter, on_filter, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

BusPolkit *bus_polkit_free(BusPolkit *p) {
        if (!p)
                return NULL;
        while (!list_is_empty(&p->queries))
                query_free(LIST_ENTRY(p->queries.head, PolkitQuery, node));
        sd_bus_slot_unref(p->filter);
        return mfree(p);
}

bool bus_polkit_authorized(const BusPolkit *p, sd_bus_message *m) {
        return p && m && p->authorized == m;
}

bool bus_polkit_holds(BusPolkit *p, sd_bus_message *m) {
        return p && m && query_find(p, m) != NULL;
}

bool bus_polkit_holds_calls(const BusPolkit *p) {
        return p && !list_is_empty(&p->queries);
}
