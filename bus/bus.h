/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the daemon. Translates only: arguments in, daemon calls, replies and
 * signals out. Who may act on a job is decided here, from the bus credentials. */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "manager.h"
#include "names.h"

/* A job's object path, built here: the daemon core knows nothing of D-Bus. Returned by value,
 * so `bus_job_path(j).s` lives until the end of the full expression that uses it. */
typedef struct BusJobPath {
        char s[sizeof(XFERD_JOB_PATH_PREFIX) + XFERD_JOB_ID_LEN];
} BusJobPath;

static inline BusJobPath bus_job_path_of(const char *id) {
        static const char prefix[] = XFERD_JOB_PATH_PREFIX;
        size_t n = strnlen(id, XFERD_JOB_ID_LEN);
        BusJobPath p;

        /* Not snprintf(): ListJobs builds 100 000 of these in one call. */
        memcpy(p.s, prefix, sizeof prefix - 1);
        memcpy(p.s + sizeof prefix - 1, id, n);
        p.s[sizeof prefix - 1 + n] = 0;
        return p;
}

static inline BusJobPath bus_job_path(const Job *j) {
        return bus_job_path_of(j->id);
}

typedef struct BusCreds BusCreds;
typedef struct BusPolkit BusPolkit;
typedef struct BusBatch BusBatch;
typedef struct BusOut BusOut;

typedef struct Bus {
        sd_bus *bus;
        BusCreds *creds;
        BusPolkit *polkit;              /* system bus only */
        BusBatch *batch;                /* replies of Download calls kept until their commit */
        BusOut *out;                    /* a closing batch's messages, sent with one write (bus-out.h) */
        char bus_id[33];        /* this bus's id (GUID), in hex: part of a job's owner binding */
        Manager *manager;
        bool system;
        /* Told when the daemon has nothing left to do, or something again. */
        void (*idle_changed)(void *userdata, bool idle);
        void *idle_userdata;
} Bus;

/* bus-open.c: connects to the system bus or the session bus as sd_bus_open_system() and
 * sd_bus_open_user() do, but without Unix fd passing (the bus refuses calls that carry
 * descriptors); logs what failed. */
int bus_open(bool system, sd_bus **ret);
/* bus.c: installs the Manager object, the job objects, the object manager, and the manager observer
 * that turns daemon changes into signals. */
int bus_install(Bus *b);
void bus_uninstall(Bus *b);
/* Whether calls are held back before their dispatch (for the caller's credentials, for polkit):
 * they are answered later, so the daemon is not idle. */
bool bus_holds_calls(const Bus *b);

/* bus-batch.c: the replies of a batch of Download calls, sent once the manager has committed
 * and announced the batch (observer.batch_closed); a filter closes the batch before any
 * other call. bus_batch_keep() returns 1: the call is kept, and its reply (the id and path of
 * the job j it made) made when the batch is closed, into the batch's buffer (bus-out.h). */
int bus_batch_new(Bus *b, BusBatch **ret);
BusBatch *bus_batch_free(BusBatch *q);
int bus_batch_keep(Bus *b, sd_bus_message *call, const Job *j);
void bus_batch_closed(Bus *b, int r, const CallError *e);

/* bus-creds.c: the caller's uid and groups, from the bus credentials, cached per unique name;
 * a bus filter holds a new caller's calls until the bus driver answered, without blocking the
 * loop; one NameOwnerChanged match for all callers tells when a unique name leaves the bus. */
typedef void (*BusCredsNameGone)(const char *unique_name, void *userdata);
/* A caller as the bus driver knows it: its uid and, where the bus reports them, every group of
 * the connection (n_groups < 0: the bus does not say). Valid while the message is handled. */
typedef struct BusCaller {
        uid_t uid;
        int n_groups;
        const gid_t *groups;
} BusCaller;
int bus_creds_new(sd_bus *bus, BusCreds **ret);
BusCreds *bus_creds_free(BusCreds *c);
static inline void bus_creds_freep(BusCreds **c) {
        bus_creds_free(*c);
}
int bus_creds_get_caller(BusCreds *c, sd_bus_message *m, BusCaller *ret);
int bus_creds_get_uid(BusCreds *c, sd_bus_message *m, uid_t *ret);
void bus_creds_set_name_gone(BusCreds *c, BusCredsNameGone cb, void *userdata);
/* Whether calls are held until the bus tells their caller's credentials. */
bool bus_creds_holds_calls(const BusCreds *c);
/* Whether a filter after the credentials' one (polkit's) holds m: m passed the credentials'
 * filter before, and goes through it untouched when it comes again. */
typedef bool (*BusCredsHeldLater)(sd_bus_message *m, void *userdata);
void bus_creds_set_held_later(BusCreds *c, BusCredsHeldLater cb, void *userdata);

/* bus-driver.c: what xferd asks the bus driver about other connections. Asks, without waiting,
 * for name's uid and groups (GetConnectionCredentials), or (uid_only) its uid alone
 * (GetConnectionUnixUser); callback gets the answer. No timeout: the driver answers every
 * question, and a bus that reads nothing of xferd delays the answer rather than losing it. */
int bus_driver_ask_creds(sd_bus *bus, sd_bus_slot **ret_slot, const char *name, bool uid_only,
                         sd_bus_message_handler_t callback, void *userdata);
/* The answer: the uid and the groups (*ret_n_groups < 0 and *ret_groups NULL when the driver
 * does not say; else *ret_groups is the caller's to free), or the uid alone (uid_only). -ENODATA
 * when it gives no uid; nothing is set on failure. */
int bus_driver_read_creds(sd_bus_message *reply, bool uid_only, uid_t *ret_uid, int *ret_n_groups,
                          gid_t **ret_groups);
/* The NameOwnerChanged match, installed synchronously: in place before xferd takes its name. */
int bus_driver_match_name_owner_changed(sd_bus *bus, sd_bus_slot **ret_slot, sd_bus_message_handler_t callback,
                                        void *userdata);

/* What an unprivileged caller needs an administrator's authorization for. */
typedef enum BusAction {
        BUS_ACTION_NONE,
        BUS_ACTION_MANAGE_ALL,          /* another user's jobs, or every user's */
        BUS_ACTION_CONFIGURE,           /* the daemon's settings */
} BusAction;

/* bus-owner.c: CancelWhenOwnerGone. A job is bound to the connection that asked for it, named
 * "<bus id>/<unique name>"; when that name leaves the bus (bus-creds.c's one NameOwnerChanged
 * match), the manager cancels the job at once. */
int bus_owner_install(Bus *b);
/* The binding for the sender of m (transfer full); -EINVAL without a sender. */
int bus_owner_binding(Bus *b, sd_bus_message *m, char **ret);
/* After the stored jobs are loaded: cancels the jobs whose connection left while xferd did not
 * run (another bus, or a name that has no owner now). */
int bus_owner_check_stored(Bus *b);

/* bus-access.c: the caller's uid of the message being handled, and its groups. */
int bus_access_get_caller_uid(Bus *b, sd_bus_message *m, uid_t *ret);
int bus_access_get_caller(Bus *b, sd_bus_message *m, BusCaller *ret);
/* Owner, root or a polkit-authorized administrator may; with `error` set to AccessDenied
 * otherwise. */
int bus_access_check_job(Bus *b, sd_bus_message *m, const Job *j, sd_bus_error *error);
/* Root (the daemon's own user on a session bus), or a caller polkit authorized for this call. */
bool bus_access_is_admin(Bus *b, sd_bus_message *m, uid_t uid);
/* The polkit action message m needs before its dispatch, BUS_ACTION_NONE for most. */
BusAction bus_access_needed_action(Bus *b, sd_bus_message *m);

/* bus-polkit.c: asks polkit, without blocking, for the calls bus_access_needed_action() names,
 * and marks the ones it allows for their dispatch. */
int bus_polkit_new(Bus *b, BusPolkit **ret);
BusPolkit *bus_polkit_free(BusPolkit *p);
static inline void bus_polkit_freep(BusPolkit **p) {
        bus_polkit_free(*p);
}
bool bus_polkit_authorized(const BusPolkit *p, sd_bus_message *m);
/* Whether calls are held until polkit answers; whether m is one of them. */
bool bus_polkit_holds_calls(const BusPolkit *p);
bool bus_polkit_holds(BusPolkit *p, sd_bus_message *m);

/* bus-options.c: a{sv} options read by a table of keys and D-Bus types ("s", "b", "t", "as");
 * an unknown key or a wrong type is InvalidArgs naming the key. */
#define BUS_OPTIONS_MAX 16
typedef struct BusOptionSpec {
        const char *key;
        const char *type;
} BusOptionSpec;
typedef struct BusOptions {
        const char *strings[BUS_OPTIONS_MAX];   /* in the message, which outlives the call */
        int booleans[BUS_OPTIONS_MAX];
        uint64_t u64s[BUS_OPTIONS_MAX];
        char **strvs[BUS_OPTIONS_MAX];          /* owned: bus_options_done() */
        bool present[BUS_OPTIONS_MAX];
} BusOptions;
int bus_options_read(sd_bus_message *m, const BusOptionSpec *spec, size_t n_spec, BusOptions *v,
                     sd_bus_error *error);
/* The arguments (s url, s path, a{sv} options) of AddFileWithOptions and Download; the strings
 * stay in m. */
int bus_options_read_url_path(sd_bus_message *m, const BusOptionSpec *spec, size_t n_spec, const char **ret_url,
                              const char **ret_path, BusOptions *v, sd_bus_error *error);
void bus_options_done(BusOptions *v);
/* The options CreateJob and Download share, first in both specs. */
enum {
        BUS_JOB_OPTION_PRIORITY,
        BUS_JOB_OPTION_DESCRIPTION,
        BUS_JOB_OPTION_CANCEL_WHEN_OWNER_GONE,
        BUS_JOB_OPTION_COST_POLICY,
        BUS_JOB_OPTION_MAX_CONCURRENT_FILES,
        _BUS_JOB_OPTION_MAX,
};
/* A priority or cost policy by name (an option or a property): its value (JobPriority,
 * CostPolicy), or InvalidArgs naming the choices. */
int bus_options_parse_priority(const char *s, sd_bus_error *error);
int bus_options_parse_cost_policy(const char *s, sd_bus_error *error);
/* Their keys and types, into spec[0.._BUS_JOB_OPTION_MAX). */
void bus_options_spec_job(BusOptionSpec *spec);
/* Their values from v into o; cancel-when-owner-gone binds the job to the caller's connection,
 * whose name goes to *ret_binding (NULL without it). */
int bus_options_get_job(Bus *b, sd_bus_message *m, const BusOptions *v, JobOptions *o, char **ret_binding,
                        sd_bus_error *error);
/* The options of a download's file, in this order from index `first` of a spec. */
enum {
        BUS_FILE_OPTION_CHECKSUM,
        BUS_FILE_OPTION_SIZE,
        BUS_FILE_OPTION_MIRRORS,
        BUS_FILE_OPTION_CHECKSUM_LIST,
        BUS_FILE_OPTION_CHECKSUM_LIST_SIGNATURE,
        _BUS_FILE_OPTION_MAX,
};
/* Their keys and types, into spec[0.._BUS_FILE_OPTION_MAX). */
void bus_options_spec_file(BusOptionSpec *spec);
void bus_options_get_file(const BusOptions *v, size_t first, JobFileOptions *ret);

/* bus-job-methods.c: the Job methods but those of bus-file.c. */
int bus_job_method_add_file(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_add_files(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_suspend(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_complete(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_list_files(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_set_http_headers(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* bus-file.c: AddFileWithOptions and GetFileDetails. */
int bus_job_method_add_file_with_options(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_job_method_get_file_details(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* bus-manager.c: the Manager object. */
extern const sd_bus_vtable bus_manager_vtable[];

/* bus-reply.c: appends s (NULL: "") as a string without sd-bus's check of its UTF-8, for text
 * known to be valid UTF-8 without a NUL, such as what this daemon made of ASCII (a job id, a
 * name from a table, a property or interface name); dbus-daemon still checks every message.
 * ret (optional): where the copy is in the message. */
int bus_append_known_text(sd_bus_message *m, const char *s, char **ret);
/* bus-reply.c: the most bytes a message of xferd's may take. dbus-daemon drops a connection that
 * sends a message larger than its max_message_size (and xferd, off the bus, exits): 32 MiB is
 * its default, which the system bus keeps. A reply that grows with the jobs or files is refused
 * (LimitsExceeded) before it would pass this, which leaves room for the message's header.
 * XFERD_TEST_MESSAGE_MAX_BYTES (the bus's limit in a test) lowers it. */
size_t bus_message_max(void);
/* bus-job-added.c: a new job object's InterfacesAdded, sent by the observer; or written whole
 * into a closing batch's buffer (bus-out.h), -ENOBUFS when it does not go there. */
int bus_job_added_new(sd_bus *bus, const char *path, const Job *j, sd_bus_message **ret);
int bus_job_added_out(Bus *b, const char *path, const Job *j);
/* bus-job-changed.c: a job's PropertiesChanged of the properties `names` (NULL-terminated
 * literals of the job interface), into a closing batch's buffer or through sd-bus. */
void bus_job_changed_emit(Bus *b, Job *j, char **names);
/* bus-job-changed.c: Job.zero_told once a signal carried every property a state change names
 * that is left out while it stays zero or empty (a new job's InterfacesAdded). */
uint8_t bus_job_zero_told_all(const Job *j);
/* bus-message-size.c: the bytes a received message holds (an upper estimate, read from its body
 * and rewound); one of more than max bytes, or with too many values to count cheaply, counts as
 * bus_message_max() (the reading stops there). */
size_t bus_message_size(sd_bus_message *m, size_t max);
/* bus-reply.c: replies to m with one array of `contents`, its elements appended by append; or,
 * while the bus is not reading xferd's messages (many of them wait in xferd), fails with
 * LimitsExceeded before building it; or when append returns -E2BIG (its elements would pass
 * bus_message_max()), with LimitsExceeded. */
typedef int (*bus_append_t)(sd_bus_message *reply, void *userdata);
int bus_reply_array(sd_bus_message *m, const char *contents, bus_append_t append, void *userdata,
                    sd_bus_error *error);
/* bus-reply.c: Cancel (complete false) or Complete on j, replying to m once the core says the
 * call is done; other calls are served meanwhile. Returns as a method handler does. */
int bus_reply_later(sd_bus_message *m, Job *j, bool complete, sd_bus_error *error);

/* bus-job.c: the Job interface. */
extern const sd_bus_vtable bus_job_vtable[];
/* The job's full error name, or "" without an error; `buf` holds it. */
const char *bus_job_error_name(const Job *j, char *buf, size_t size);
/* bus-job-objects.c: the job objects, found by path (the access gate) and enumerated per caller. */
int bus_job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                 sd_bus_error *error);
int bus_job_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
/* Every message to the manager's object, before sd-bus's handlers: GetManagedObjects is refused
 * (LimitsExceeded) when its reply would be too large for D-Bus. */
int bus_objects_guard(sd_bus_message *m, void *userdata, sd_bus_error *error);

/* bus-observer.c: daemon changes become signals. */
extern const ManagerObserver bus_observer_template;
