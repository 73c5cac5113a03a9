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
#include "fsops.h"
#include "job.h"
#include "transfer.h"

typedef struct Manager Manager;
typedef struct Job Job;

typedef struct JobFile {
        char *url;
        char *path;             /* the destination, absolute */
        char *dir;              /* its directory */
        char *name;             /* its base name */
        char *temp_name;        /* hidden temporary name inside dir */
        dev_t dir_dev;
        ino_t dir_ino;
        bool temp_exists;       /* we created the temporary file and it has not been removed */
        bool completed;         /* every byte is in the temporary file */
        bool committed;         /* renamed to its destination by Complete */
        uint64_t bytes_total;   /* UINT64_MAX while unknown */
        uint64_t bytes_transferred;
        char *validator;        /* ETag or Last-Modified of the bytes we hold */
} JobFile;

struct Job {
        Manager *manager;
        Job *prev, *next;       /* in the manager's queue (non-final) or retained list */
        Job *index_next;        /* in the manager's id index */

        char id[33];
        char *object_path;
        JobType type;
        uid_t owner;
        FsIdentity identity;

        char *display_name;
        char *description;
        JobState state;
        JobPriority priority;
        bool auto_complete;
        bool allow_insecure_redirect;
        uint64_t bandwidth_limit;
        uint32_t minimum_retry_delay;   /* seconds */
        uint32_t no_progress_timeout;   /* seconds */
        char **http_headers;            /* "Name: value"; secrets, never returned */
        char *upload_url;               /* uploads: the tus upload resource, NULL before creation */

        JobFile **files;
        size_t n_files;
        size_t current;                 /* the file being transferred */

        uint64_t creation_time, modification_time, completion_time;  /* µs, realtime */
        uint64_t last_progress_time;    /* µs, realtime; the NoProgressTimeout clock */
        uint64_t retry_time;            /* µs, realtime; when transient-error ends */
        uint64_t retire_time;           /* µs, realtime; when the job reached a final state */

        char *error_name;               /* short contract name, e.g. "Http" */
        char *error_message;
        char *error_summary;            /* without URL or path: what broadcast signals carry */
        uint32_t error_count;

        Transfer *transfer;             /* downloads: the running request */
        struct TusUpload *upload;       /* uploads: the running tus exchange */
        int fd;                         /* the temporary file being written, or the file being sent */
        unsigned restarts;              /* in a row, for the current file */
        uint64_t run_started;           /* µs, monotonic: when the job last got a transfer slot */

        sd_event_source *retry_timer;
        sd_event_source *retention_timer;
        Job *dirty_next;                /* in the manager's progress list, when dirty */
        bool in_dirty_list;
        bool counted;                   /* in the manager's busy/network-waiting counts */
        Job *auto_complete_next;        /* in the manager's batch of completions */
        bool auto_complete_pending;
};

/* What changed, for the observer. */
typedef enum JobChange {
        JOB_CHANGE_STATE = 1u << 0,     /* State and everything a transition touches */
        JOB_CHANGE_PROGRESS = 1u << 1,  /* byte and file counters */
        JOB_CHANGE_SETTINGS = 1u << 2,  /* a writable property */
        JOB_CHANGE_TEXT = 1u << 3,      /* DisplayName/Description: invalidation only */
        JOB_CHANGE_FILES = 1u << 4,     /* files were added */
        JOB_CHANGE_UPLOAD_URL = 1u << 5,
} JobChange;

typedef struct ManagerObserver {
        void (*job_new)(Manager *m, Job *j);
        void (*job_changed)(Manager *m, Job *j, unsigned changes);
        void (*job_transferred)(Manager *m, Job *j);
        void (*job_failed)(Manager *m, Job *j);
        void (*job_removed)(Manager *m, Job *j);  /* reached a final state, left the queue */
        void (*job_gone)(Manager *m, Job *j);     /* retention over, about to be freed */
        void (*idle_changed)(Manager *m, bool idle);
        void *userdata;
} ManagerObserver;

typedef struct ManagerConfig {
        bool system;                    /* serving the system bus */
        uint64_t retention_usec;
        uint32_t retry_delay_floor;     /* seconds */
        uint32_t max_background_transfers;
        uint64_t background_bandwidth_limit;
        uint32_t max_jobs_per_user;
        uint32_t max_jobs;
        uint32_t max_files_per_job;
        size_t max_url_length;
        uint64_t job_inactivity_usec;   /* untouched this long → cancelled (BITS JobInactivityTimeout) */
        uint64_t time_slice_usec;       /* background jobs of one priority take turns this long */
        uint64_t delete_retry_base_usec; /* first retry of an undelivered tus DELETE; doubles */
        const char *state_dir;          /* where the store lives; NULL: keep nothing */
        EngineSettings transfer;
} ManagerConfig;

void manager_config_defaults(ManagerConfig *c);

int manager_new(sd_event *event, const ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
void manager_set_observer(Manager *m, const ManagerObserver *o);
void *manager_get_observer_userdata(Manager *m);
const ManagerConfig *manager_get_config(Manager *m);
sd_event *manager_get_event(Manager *m);

/* Brings back the stored jobs, finishes interrupted cancels, and starts what was queued. */
int manager_load(Manager *m);

/* True when no job needs the daemon to act now. With a store: nothing queued, running or
 * waiting to retry, and no temporary file waiting for removal; everything else waits in the
 * store. Without one: no job and no retained object at all. */
bool manager_is_idle(Manager *m);
bool manager_has_store(Manager *m);

/* Non-final jobs, oldest first. */
Job *manager_first_job(Manager *m);
/* Final jobs whose objects are still on the bus. */
Job *manager_first_retained(Manager *m);
/* Any job with an object on the bus, final or not. */
Job *manager_find_job(Manager *m, const char *id);
unsigned manager_count_jobs(Manager *m, uid_t owner);

typedef struct JobOptions {
        JobType type;
        JobPriority priority;
        const char *description;
        bool auto_complete;
} JobOptions;

int manager_create_job(Manager *m, uid_t owner, const char *display_name, const JobOptions *o,
                       Job **ret, CallError *e);

int manager_set_max_background_transfers(Manager *m, uint32_t n);
int manager_set_background_bandwidth_limit(Manager *m, uint64_t bps);

/* Job calls. Each returns 0 or a negative errno with *e filled. */
int job_add_files(Job *j, char * const *urls, char * const *paths, size_t n, CallError *e);
int job_resume(Job *j, CallError *e);
int job_suspend(Job *j, CallError *e);
int job_cancel(Job *j, CallError *e);
int job_complete(Job *j, bool *ret_partial, CallError *e);
int job_set_http_headers(Job *j, char * const *headers, CallError *e);
int job_set_display_name(Job *j, const char *s, CallError *e);
int job_set_description(Job *j, const char *s, CallError *e);
int job_set_priority(Job *j, JobPriority p, CallError *e);
int job_set_auto_complete(Job *j, bool b, CallError *e);
int job_set_bandwidth_limit(Job *j, uint64_t bps, CallError *e);
int job_set_allow_insecure_redirect(Job *j, bool b, CallError *e);
int job_set_minimum_retry_delay(Job *j, uint32_t secs, CallError *e);
int job_set_no_progress_timeout(Job *j, uint32_t secs, CallError *e);

uint64_t job_bytes_total(const Job *j);         /* UINT64_MAX while any size is unknown */
uint64_t job_bytes_transferred(const Job *j);
uint32_t job_files_transferred(const Job *j);
