/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the parts of the manager (manager.c and the files named after one concept each, see
 * HACKING.md) share. Not for bus/ or main.c: they use manager.h. */

#include "io-pool.h"
#include "file-batch.h"
#include "manager.h"
#include "netwatch.h"
#include "store.h"
#include "tus.h"
#include "util.h"

#define DISPLAY_NAME_MAX 256

#define DESCRIPTION_MAX 1024

/* Threads for file operations: a hung file system holds one, the others carry on. */
#define IO_POOL_MAX_THREADS 8

/* A temporary file that could not be unlinked yet; it is never forgotten. */
typedef struct PendingUnlink {
        struct PendingUnlink *next;
        FsIdentity identity;
        char *dir;
        dev_t dev;
        ino_t ino;
        char *name;
} PendingUnlink;

struct Manager {
        sd_event *event;
        ManagerConfig config;
        ManagerObserver observer;
        Engine *engine;
        IoPool *io_pool;                        /* file operations off the loop */
        bool checkpointing;                     /* the store's log is being copied (wal-checkpoint.c) */
        Store *store;                           /* NULL when the state directory is unusable */
        NetWatch *netwatch;                     /* open while a job waits for the network */
        sd_event_source *network_timer;         /* lets a burst of network news settle */
        sd_event_source *inactivity_timer;

        Job *jobs_head, *jobs_tail;             /* non-final, oldest first */
        Job *retained_head, *retained_tail;     /* final, object still on the bus */
        unsigned n_jobs;
        Job **index;                            /* every job with an object, by id */
        size_t n_index_buckets, n_indexed;

        sd_event_source *schedule_source;       /* deferred scheduler run */
        sd_event_source *auto_complete_source;  /* deferred, batched auto-completion */
        Job *auto_complete_head;
        sd_event_source *slice_timer;           /* turns among background jobs of one priority */
        sd_event_source *progress_timer;        /* rate-limits progress checkpoints */
        Job *dirty_head;
        sd_event_source *notify_source;         /* progress signals, once per loop iteration */
        sd_event_source *notify_timer;          /* … once a job's MinimumNotificationInterval passed */
        Job *notify_head;                       /* progress not told yet */
        /* What every queued job's WaitReason needs from all the others, counted once per loop
         * iteration and change (job-wait.c), not once per job: 10 000 jobs stay linear. */
        unsigned change_gen;                    /* bumped by every change told */
        unsigned wait_scan_gen;
        uint64_t wait_scan_usec;
        unsigned wait_scan_active_background;
        int wait_scan_best_priority;            /* of background jobs queued or running */

        PendingUnlink *pending_unlinks;
        sd_event_source *unlink_timer;
        uint64_t unlink_retry_usec;             /* doubles while unlinks keep failing */

        struct DeleteEntry *pending_deletes;    /* tus DELETEs of cancelled uploads */

        /* Listed jobs that keep the daemon busy (queued, connecting, transferring,
         * transient-error) and that wait for the network: kept in step with every change of a
         * listed job's state or error (job_uncount/job_recount), so that the question asked
         * after every change does not walk 10 000 jobs. */
        unsigned n_busy, n_network_waiting;
        bool check_counts;                      /* tests: recount and compare at every check */

        bool idle;
};

/* A DELETE that must reach the server, retried with a doubling delay until its deadline. */
typedef struct DeleteEntry {
        struct DeleteEntry *next;
        Manager *manager;
        PendingDelete rec;
        TusDelete *request;
        sd_event_source *timer;
} DeleteEntry;

/* One job's share of a batch of completions. */
typedef struct CompleteWork {
        Job *job;
        int r;                  /* < 0: this job failed, with e */
        CallError e;
        bool partial;
        bool reset;             /* a finished file vanished: the job is suspended */
        JobCall *call;          /* the Complete call waiting, NULL for auto-complete */
} CompleteWork;

/* Completions that share their file operations, between the steps on the worker threads. */
typedef struct CompleteBatch {
        Manager *manager;
        CompleteWork *works;
        size_t n;
        bool automatic;
        bool renaming;          /* past the record of "committed": the renames are under way */
} CompleteBatch;

/* manager.c */
void notify_changed(Job *j, unsigned changes);
uint64_t now_realtime(Manager *m);
void crash_point(const char *name);
void job_calls_shutdown(JobCall **list);

/* wal-checkpoint.c */
void manager_want_checkpoint(void *userdata);

/* job-index.c */
void list_remove(Job **head, Job **tail, Job *j);
void list_append(Job **head, Job **tail, Job *j);
int manager_index_add(Manager *m, Job *j);
void manager_index_remove(Manager *m, Job *j);

/* checkpoint.c */
void job_save_row(Job *j);
void job_save(Job *j);
void job_save_file(Job *j, size_t i);
int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata);
void job_mark_progress(Job *j);
void job_unmark_progress(Job *j);

/* pending-unlink.c */
void pending_unlink_free(PendingUnlink *p);
int on_unlink_timer(sd_event_source *s, uint64_t usec, void *userdata);
void job_unlink_temporary(Job *j, JobFile *f);
bool job_unlink_temporaries(Job *j, bool all);
int manager_adopt_pending_unlink(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                                 void *userdata);

/* idle.c */
bool job_waits_for_network(const Job *j);
void job_uncount(Job *j);
void job_recount(Job *j);
void job_count_start(Job *j);
void job_count_stop(Job *j);
void manager_check_counts(Manager *m);
void manager_check_idle(Manager *m);

/* network-retry.c */
int on_network_settled(sd_event_source *s, uint64_t usec, void *userdata);
void manager_update_netwatch(Manager *m);

/* inactivity.c */
int on_inactivity_timer(sd_event_source *s, uint64_t usec, void *userdata);
void manager_arm_inactivity(Manager *m, uint64_t modification_time);

/* progress-notify.c */
void job_notify_progress(Job *j);
void job_progress_told(Job *j);
void job_notify_forget(Job *j);
int on_notify_defer(sd_event_source *s, void *userdata);
int on_notify_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* job-rate.c */
void job_rate_sample(Job *j);
void job_rate_reset(Job *j);

/* job-wait.c */
void job_wait_reason_told(Job *j);
void manager_update_wait_reasons(Manager *m);

/* retry.c */
void job_arm_retry(Job *j, uint64_t retry_after_usec);
void job_arm_retry_timer(Job *j);
void job_disarm_retry(Job *j);

/* retention.c */
void job_retire(Job *j);
void job_io_released(Job *j);
Job *job_free(Job *j);
int on_retention_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* job-actions.c */
JobContext job_context(const Job *j);
void job_stop_transfer(Job *j);
void job_set_error(Job *j, const char *name, const char *message, const char *summary);
int job_apply_full(Job *j, JobEvent event, uint64_t retry_after_usec, CallError *e);
int job_apply(Job *j, JobEvent event, CallError *e);
void job_fail(Job *j, bool fatal, const char *name, const char *message, const char *summary,
              uint64_t retry_after_usec);
void job_all_done(Job *j);

/* download.c */
void job_start_transfer(Job *j);

/* upload.c */
void job_start_upload(Job *j, JobFile *f);

/* delete-queue.c */
void delete_entry_free(DeleteEntry *d);
void manager_delete_upload(Manager *m, Job *j);
int manager_adopt_pending_delete(const PendingDelete *d, void *userdata);

/* scheduler.c */
void manager_schedule(Manager *m);
unsigned manager_count_active_background(Manager *m);
uint64_t job_effective_rate(const Job *j, unsigned n_background);
void manager_apply_rates(Manager *m);
int on_schedule(sd_event_source *s, void *userdata);
int on_slice_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* job-files.c */
FsDir file_dir(const JobFile *f);

/* complete.c */
void job_auto_complete(Job *j);
void work_fail(CompleteWork *w, int r, const char *format, ...) _printf_(3, 4);
void complete_batch_drop(CompleteBatch *b);
int on_auto_complete(sd_event_source *s, uint64_t usec, void *userdata);

/* job-setters.c */
int check_text(const char *what, const char *s, size_t max, CallError *e);
int job_check_not_final(Job *j, const char *what, CallError *e);
