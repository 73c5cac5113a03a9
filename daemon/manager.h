/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager owns every job, runs the scheduler and is the only code that changes a job.
 * For every change it performs the state machine's actions in a fixed order: act on
 * transfers and files, then tell the observer (bus/), which emits signals; the caller replies
 * last. It knows nothing of D-Bus. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "call-error.h"
#include "job-record.h"
#include "settings.h"

typedef struct Manager Manager;

/* What changed, for the observer. */
typedef enum JobChange {
        JOB_CHANGE_STATE = 1u << 0,     /* State and everything a transition touches */
        JOB_CHANGE_PROGRESS = 1u << 1,  /* byte and file counters */
        JOB_CHANGE_SETTINGS = 1u << 2,  /* a writable property */
        JOB_CHANGE_TEXT = 1u << 3,      /* DisplayName/Description: invalidation only */
        JOB_CHANGE_FILES = 1u << 4,     /* files were added */
        JOB_CHANGE_UPLOAD_URL = 1u << 5,
        JOB_CHANGE_WAIT = 1u << 6,      /* WaitReason, when other jobs changed it */
} JobChange;

typedef struct ManagerObserver {
        void (*job_new)(Manager *m, Job *j);
        void (*job_changed)(Manager *m, Job *j, unsigned changes);
        void (*job_transferred)(Manager *m, Job *j);
        void (*job_failed)(Manager *m, Job *j);
        void (*job_removed)(Manager *m, Job *j);  /* reached a final state, left the queue */
        void (*job_gone)(Manager *m, Job *j);     /* retention over, about to be freed */
        void (*idle_changed)(Manager *m, bool idle);
        void (*network_changed)(Manager *m);      /* what manager_get_network() says changed */
        /* A batch is about to tell its jobs (committed or not): what it tells and replies,
         * from here to batch_closed, comes from this close. */
        void (*batch_closing)(Manager *m);
        /* A batch was committed (r >= 0) or refused (r < 0, e): its calls may reply now. */
        void (*batch_closed)(Manager *m, int r, const CallError *e);
        /* A job's files are gone (Cancel's unlinks): what it tells and the replies that
         * waited for them come between these two, and may go out in one write. */
        void (*unlinked_begin)(Manager *m);
        void (*unlinked_end)(Manager *m);
        void *userdata;
} ManagerObserver;

/* Calls that create jobs (Download: create, add the file, resume) as batches: one store
 * transaction for all the calls that arrive together, committed once, then announced
 * (InterfacesAdded with the state's values, JobNew), then replied to. A call runs
 * between manager_batch_begin() and manager_batch_end(), which returns 1 when the batch stays
 * open for the next call: the caller keeps its reply until observer.batch_closed. The batch
 * is closed once the loop has nothing more urgent, after BATCH_MAX_CALLS calls, before any
 * other write to the store or signal, and by manager_batch_close() (the bus: before any other
 * call, and when no more calls are waiting). manager_batch_end() returns 0 when it closed the
 * batch, and negative when that commit failed: the batch's jobs are freed (never announced) and *e says IOError; so does
 * manager_batch_close().
 * Sixteen, not the 64 a client may keep in flight: a batch's replies wait for its commit, so
 * a batch as large as the client's window ran the pipeline in lock step (the client waited for
 * 64 replies while xferd waited for its next calls). With 16, xferd handles the next calls
 * while the client reads the last replies: 14 700 → 16 400 Download calls/s
 * (tests/bench/ab.sh --case create), and 1000 small jobs 2.38 → 2.13 × curl -Z. At 8 the
 * commits start to cost more than the overlap gives. */
#define BATCH_MAX_CALLS 16
void manager_batch_begin(Manager *m);
int manager_batch_end(Manager *m, CallError *e);
int manager_batch_close(Manager *m, CallError *e);

/* The loop's priority for calls and for the file operations that replies wait for: before
 * curl's socket work, so that a call never queues behind a burst of transfers' reads and
 * writes. main.c attaches the bus with it. */
#define MANAGER_CALL_PRIORITY (SD_EVENT_PRIORITY_NORMAL - 10)

int manager_new(sd_event *event, const ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
void manager_set_observer(Manager *m, const ManagerObserver *o);
void *manager_get_observer_userdata(Manager *m);
const ManagerConfig *manager_get_config(Manager *m);
/* Body bytes of every download since the daemon started: from the site's cache, from elsewhere. */
uint64_t manager_get_bytes_from_cache(Manager *m);
uint64_t manager_get_bytes_from_origin(Manager *m);

/* Brings back the stored jobs, finishes interrupted cancels, and starts what was queued. */
int manager_load(Manager *m);

/* True when no job needs the daemon to act now: nothing queued, running or waiting to retry,
 * and no upload DELETE owed to a server; everything else waits in the store. */
bool manager_is_idle(Manager *m);

/* Non-final jobs, oldest first, and how many. */
Job *manager_first_job(Manager *m);
size_t manager_n_jobs(Manager *m);
/* One owner's non-final jobs, oldest first (then job_next_owned()): a walk of a user's jobs
 * never passes other users' jobs. */
Job *manager_first_owned_job(Manager *m, uid_t owner);
/* For a walk of the queue that reads every job (ListJobs): the jobs a few places after j, their
 * display names and files asked for ahead, so that they are in the cache when the walk gets
 * there. Reads nothing it does not need, changes nothing. `owned`: the walk follows
 * job_next_owned(), not job_next(). */
void job_prefetch_ahead(const Job *j, bool owned);
/* Final jobs whose objects are still on the bus. */
Job *manager_first_retained(Manager *m);
/* Any job with an object on the bus, final or not. */
Job *manager_find_job(Manager *m, const char *id);
/* Before a call on job j is answered: what its reply may report is in the store (the ends of
 * files that wait for the next progress checkpoint). */
void manager_job_store_reported(Job *j);
unsigned manager_count_jobs(Manager *m, uid_t owner);

/* The contract's limits on the texts of a job, in bytes. */
#define JOB_DISPLAY_NAME_MAX 256
#define JOB_DESCRIPTION_MAX 1024

typedef struct JobOptions {
        JobType type;
        JobPriority priority;
        const char *description;
        bool auto_complete;
        const char *cancel_with;        /* see job_set_cancel_with(); NULL for none */
        const char *checksum_list;              /* downloads: the default of every file added */
        const char *checksum_list_signature;    /* NULL: checksum_list + ".gpg" */
        bool cost_policy_set;           /* the creator chose cost_policy; else the default */
        CostPolicy cost_policy;
        bool max_concurrent_files_set;  /* else the default, 1 */
        uint32_t max_concurrent_files;
        /* Every group of the creating caller, as the bus reports them (n_groups < 0: it does
         * not; the user database then): the job's files are reached with these. */
        const gid_t *groups;
        int n_groups;
} JobOptions;

/* What AddFileWithOptions and Download may say of a download's file beyond its URL and path;
 * the contract (docs/api.md) says what each means. */
typedef struct JobFileOptions {
        const char *checksum;                   /* "sha256:<hex>" or "sha512:<hex>", or NULL */
        bool expect_size;
        uint64_t size;
        char * const *mirrors;                  /* NULL, or NULL-terminated */
        const char *checksum_list;              /* NULL: the job's */
        const char *checksum_list_signature;    /* NULL: checksum_list + ".gpg" */
} JobFileOptions;

int manager_create_job(Manager *m, uid_t owner, const char *display_name, const JobOptions *o,
                       Job **ret, CallError *e);

int manager_set_max_background_transfers(Manager *m, uint32_t n);
int manager_set_background_bandwidth_limit(Manager *m, uint64_t bps);

/* A call that finishes after file operations on a worker thread: Cancel replies once the
 * temporary files are gone, Complete once its files are in place. The caller embeds it and
 * sets done(), which runs on the loop thread with r (0 or a negative errno), e and partial
 * filled; r is -ESHUTDOWN when the daemon stops first. */
typedef struct JobCall JobCall;
struct JobCall {
        JobCall *next;
        void (*done)(JobCall *c);
        int r;
        CallError e;
        bool partial;
};

/* Job calls. Each returns 0 or a negative errno with *e filled. */
int job_add_files(Job *j, char * const *urls, char * const *paths, size_t n, CallError *e);
/* The same with options per file (options[i] for file i; options NULL: none). */
int job_add_files_with_options(Job *j, char * const *urls, char * const *paths, const JobFileOptions *options,
                               size_t n, CallError *e);
int job_resume(Job *j, CallError *e);
int job_suspend(Job *j, CallError *e);
/* Cancel and Complete: a negative errno with *e filled when refused now; 1 when call->done()
 * tells the result later (call may be NULL: nobody waits); Cancel returns 0 when it had no
 * file to remove and is finished. */
int job_cancel(Job *j, JobCall *call, CallError *e);
int job_complete(Job *j, JobCall *call, CallError *e);
int job_set_http_headers(Job *j, char * const *headers, CallError *e);
/* The limits of SetHttpHeaders and AddFiles, for bus/ to stop reading a long array one entry
 * past them (the call fails then whatever follows). */
size_t job_max_http_headers(const Job *j);
uint64_t job_max_http_header_bytes(const Job *j);
size_t job_files_room(const Job *j);     /* SIZE_MAX: no limit */
int job_set_display_name(Job *j, const char *s, CallError *e);
int job_set_description(Job *j, const char *s, CallError *e);
int job_set_priority(Job *j, JobPriority p, CallError *e);
int job_set_auto_complete(Job *j, bool b, CallError *e);
int job_set_bandwidth_limit(Job *j, uint64_t bps, CallError *e);
int job_set_allow_insecure_redirect(Job *j, bool b, CallError *e);
int job_set_minimum_retry_delay(Job *j, uint32_t secs, CallError *e);
int job_set_no_progress_timeout(Job *j, uint32_t secs, CallError *e);
int job_set_minimum_notification_interval(Job *j, uint32_t ms, CallError *e);
/* MaxConcurrentFiles, 1..JOB_MAX_CONCURRENT_FILES: more starts further files of a running
 * download at once; less lets the files in flight finish. */
int job_set_max_concurrent_files(Job *j, uint32_t n, CallError *e);
int job_set_cost_policy(Job *j, CostPolicy p, CallError *e);

/* What xferd believes about the network: NetworkManager's Metered and Connectivity while a
 * job needs them, or why it has none (network-wait.c). */
const NetworkView *manager_get_network(Manager *m);

/* owner-gone.c: CancelWhenOwnerGone. A job bound to a client (any name the caller chooses to
 * identify the party that must stay; bus/ uses the caller's connection) is cancelled, with
 * Cancel's guarantees, once manager_client_gone() reports that client gone. NULL unbinds. */
int job_set_cancel_with(Job *j, const char *client, CallError *e);
/* Cancels every non-final job bound to client; returns how many. */
unsigned manager_client_gone(Manager *m, const char *client);
/* Whether any non-final job is bound to a client: without one, a restart has no binding to
 * check (and no walk of 100 000 queued jobs to make). */
bool manager_has_bindings(Manager *m);

/* Empty, "direct" or a proxy URL (see proxy_value_is_valid()); from the job's next request on. */
int job_set_proxy(Job *j, const char *proxy, CallError *e);

/* A job's sums over its files, taken in one walk. */
typedef struct JobCounts {
        uint64_t bytes_total;           /* UINT64_MAX while any size is unknown */
        uint64_t bytes_transferred;
        uint32_t files_transferred;
} JobCounts;
JobCounts job_counts(const Job *j);

/* For a person watching (job-rate.c, job-wait.c). */
uint64_t job_rate(const Job *j);                /* bytes/s over the last seconds of transferring */
uint64_t job_expected_end_time(const Job *j);   /* µs since the epoch; 0 unknown */
uint64_t job_next_retry_time(const Job *j);     /* µs since the epoch; 0 none pending */
uint32_t job_current_file(const Job *j);
const char *job_wait_reason(const Job *j);      /* a WaitReason token, "" when not waiting */
