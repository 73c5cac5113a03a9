/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A job's record: what the store keeps of a job (Job, JobFile) and the runtime parts the
 * manager adds (transfers, timers, list links). The data is freed the same way whether the
 * manager or the store made it; the runtime parts are the manager's. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "fsops.h"
#include "http-settings.h"
#include "job.h"
#include "list.h"
#include "network-policy.h"
#include "progress-rule.h"
#include "rate-window.h"
#include "scheduler-queue.h"
#include "server-digest.h"

/* Owned by higher layers; a job only points at them. */
typedef struct Manager Manager;
typedef struct Transfer Transfer;
typedef struct TusUpload TusUpload;
typedef struct Hasher Hasher;
typedef struct HashStream HashStream;
typedef struct SignedList SignedList;
typedef struct DownloadLane DownloadLane;

typedef struct Job Job;

/* MaxConcurrentFiles: files of a download in flight at once, at most. */
#define JOB_MAX_CONCURRENT_FILES 16

typedef struct JobFile {
        /* The five names live in the JobFile's own block (job_file_new()): one allocation, not
         * six, for a file of each of 100 000 jobs. */
        const char *url;
        const char *path;       /* the destination, absolute */
        const char *dir;        /* its directory */
        const char *name;       /* its base name */
        const char *temp_name;  /* hidden temporary name inside dir */
        dev_t dir_dev;
        ino_t dir_ino;
        uint64_t bytes_total;   /* UINT64_MAX while unknown */
        uint64_t bytes_transferred;
        char *validator;        /* ETag or Last-Modified of the bytes we hold */
        bool temp_exists;       /* we created the temporary file and it has not been removed */
        bool completed;         /* every byte is in the temporary file */
        bool committed:1;       /* renamed to its destination by Complete */
        bool temp_ahead:1;      /* runtime: temp_exists recorded ahead of its creation, not made yet */

        /* Integrity, downloads only (see verify.h and docs/api.md). Placed, like the fields
         * above, so that there is no padding between them (a file of each of 100 000 jobs). */
        bool expect_size;
        unsigned url_index;             /* the URL in use: 0 url, k mirrors[k - 1] */
        char **mirrors;                 /* more URLs of the same bytes, tried in order; NULL: none */
        uint64_t expected_size;
        char *checksum;                 /* the expected digest "sha256:<hex>", or NULL */
        char *checksum_list;            /* the signed checksum list that gives the digest, or NULL */
        char *checksum_list_signature;  /* and its detached signature */
        char *checksum_list_key;        /* the fingerprint of the key that signed that list */
        unsigned checksum_source;       /* a VerifySource: the client's option or a signed list */
        unsigned verified_by;           /* VerifySource mask: what the bytes checked out against */
        char *verified_checksum;        /* their digest, when one was checked */
        Hasher *hasher;                 /* runtime: the temporary file's bytes hashed so far */
        char names[];                   /* url, path, dir, name, temp_name, each NUL-terminated */
} JobFile;

/* The fields are placed so that the compiler adds no padding between them: a restart may load
 * 100 000 jobs, and each byte here is 100 kB. */
struct Job {
        Manager *manager;
        ListNode queue_node;    /* in the manager's queue (non-final) or retained list */
        ListNode owner_node;    /* while queued: in its owner's list of them, in queue order */

        char id[33];
        bool identity_from_caller;      /* the creating caller's groups (stored), not the user database's */
        bool auto_complete;
        bool allow_insecure_redirect;
        JobType type;
        uid_t owner;
        JobState state;
        FsIdentity identity;

        char *display_name;
        char *description;
        JobPriority priority;
        CostPolicy cost_policy;         /* the store gives _COST_POLICY_INVALID for "the default" */
        uint64_t bandwidth_limit;
        uint32_t minimum_retry_delay;   /* seconds */
        uint32_t no_progress_timeout;   /* seconds */
        uint32_t minimum_notification_interval;  /* ms: progress signals at most this often */
        uint32_t max_concurrent_files;  /* downloads: files in flight at once, 1..JOB_MAX_CONCURRENT_FILES */
        char **http_headers;            /* "Name: value"; secrets, never returned */
        char *upload_url;               /* uploads: the tus upload resource, NULL before creation */
        char *cancel_with;              /* the client whose departure cancels the job (an opaque
                                         * name from bus/: CancelWhenOwnerGone); NULL for none */
        char *checksum_list;            /* CreateJob's default for files added without one */
        char *checksum_list_signature;
        char *proxy;                    /* "direct", a proxy URL (credentials: secrets), NULL: the daemon's */
        uint64_t bytes_from_cache;      /* downloads: body bytes received from the site's cache */
        uint64_t bytes_from_origin;     /* ... and from anywhere else */

        JobFile **files;
        size_t n_files, n_files_allocated;
        size_t current;                 /* the first file not transferred yet (CurrentFile) */

        int64_t store_key;              /* its rows' key in the store (store_new_key()) */
        uint64_t creation_time, modification_time, completion_time;  /* µs, realtime */
        uint64_t last_progress_time;    /* µs, realtime; the NoProgressTimeout clock */
        uint64_t received;              /* bytes received since the daemon started (never goes back) */
        ProgressMeter progress;         /* whether they are progress (progress-rule.h) */
        uint64_t retry_time;            /* µs, realtime; when transient-error ends */
        uint64_t retire_time;           /* µs, realtime; when the job reached a final state */

        char *error_name;               /* short contract name, e.g. "Http" */
        char *error_message;
        char *error_summary;            /* without URL or path: what broadcast signals carry */
        uint32_t error_count;

        uint32_t failures_in_row;       /* transient failures since bytes last moved: the backoff */
        DownloadLane *lanes;            /* downloads: the files in flight (download-lane.c) */
        unsigned n_lanes;
        int fd;                         /* uploads: the file being sent */
        size_t next_file;               /* downloads: no file from here on started in this run */
        uint64_t lane_rate;             /* downloads: the job's rate (0 = none), split over the lanes */
        TusUpload *upload;              /* uploads: the running tus exchange */
        SignedList *signed_list;        /* downloads: fetching and checking a checksum list */
        size_t list_file;               /* the file whose list that is */
        uint64_t run_started;           /* µs, monotonic: when the job last got a transfer slot */

        RateWindow *rate;               /* the current run of bytes, for Rate and ExpectedEndTime;
                                         * only while transferring (1 KiB: not in 100 000 queued jobs) */
        uint64_t progress_told_usec;    /* µs, monotonic: the last progress signal */
        Job *notify_next;               /* in the manager's list of progress not yet told */
        /* One bit each: 100 000 queued jobs are in memory. */
        bool notify_pending:1;
        bool counted:1;                 /* in the manager's busy/network-waiting counts */
        bool cancel_deferred:1;         /* a Cancel nobody waits for waits for the renames (below) */
        bool expire_pending:1;          /* retention ended while file operations pinned the job */
        bool counters_unstored:1;       /* bytes_from_* moved since the store last had them: a
                                         * signal tells them once stored (checkpoint_before_telling()) */
        bool files_due:1;               /* final, on the dirty list for its files, not progress */
        bool done_listed:1;             /* every file ended, its state taken with others' (download-done.c) */
        uint8_t zero_told;              /* the observer's: the properties whose last announced value
                                         * was zero or empty, one bit each (bus/bus-observer.c) */
        unsigned changes_untold;        /* JobChange bits not told yet (progress-notify.c) */
        ListNode changed_node;          /* in the manager's list of jobs with changes_untold */
        int wait_reason_told;           /* the WaitReason last announced (a WaitReason) */

        unsigned signals_deferred;      /* JobChange bits told once its temporary files are gone */
        sd_event_source *retry_timer;
        sd_event_source *retention_timer;
        ListNode dirty_node;            /* in the manager's progress list, when dirty */
        SchedulerItem sched;            /* in the scheduler's queue, while listed */
        ListNode wait_node;             /* in the manager's list of reasons to check */
        ListNode bound_node;            /* in its client's binding (CancelWhenOwnerGone), while listed */
        ListNode auto_complete_node;    /* in the manager's batch of completions */

        /* File operations on the worker threads. While either runs, the job is not freed. */
        struct CompleteBatch *completing;       /* a Complete between its steps (complete.c) */
        struct FileBatch *unlinking;            /* its temporary files being removed */
        uint64_t unlink_gate;                   /* its close of the CPU gate meanwhile */
        struct JobCall *unlink_waiters;         /* replies once they are gone */
        struct JobCall *deferred_cancels;       /* Cancels that wait for the renames to end */
};

/* The URL the file is transferred from: its own, or the mirror in use. */
static inline const char *job_file_current_url(const JobFile *f) {
        return f->url_index > 0 ? f->mirrors[f->url_index - 1] : f->url;
}

/* What each request of the job carries, borrowed for the request's start (it keeps a copy). */
static inline HttpSettings job_http_settings(const Job *j) {
        return (HttpSettings) {
                .headers = j->http_headers,
                .proxy = j->proxy,
                .allow_insecure_redirect = j->allow_insecure_redirect,
        };
}

/* The first job of a queue or retained list, and the one after j in its list; NULL at the end. */
static inline Job *job_first(const List *l) {
        return LIST_ENTRY(l->head, Job, queue_node);
}

static inline Job *job_next(const Job *j) {
        return LIST_ENTRY(j->queue_node.next, Job, queue_node);
}

/* The next job of j's owner in the queue. */
static inline Job *job_next_owned(const Job *j) {
        return LIST_ENTRY(j->owner_node.next, Job, owner_node);
}

/* A file with these names (copied into its block) and every other field zero; NULL when out of
 * memory. */
JobFile *job_file_new(const char *url, const char *path, const char *dir, const char *name, const char *temp_name);
JobFile *job_file_free(JobFile *f);
/* Frees every data field and the files, then the Job itself. */
Job *job_record_free(Job *j);
