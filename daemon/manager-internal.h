/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the parts of the manager (manager.c and the files named after one concept each, see
 * HACKING.md) share. Not for bus/ or main.c: they use manager.h. */

#include "dir-check.h"
#include "error-name.h"
#include "file-batch.h"
#include "io-pool.h"
#include "hashmap.h"
#include "heap-huge.h"
#include "list.h"
#include "manager.h"
#include "netwatch.h"
#include "server-digest.h"
#include "network-cost.h"
#include "scheduler-queue.h"
#include "store.h"
#include "tus.h"
#include "util.h"
#include "wait-reason.h"

/* ErrorMessage, and the summary the Failed signal carries, in bytes. */
#define JOB_ERROR_MESSAGE_MAX 1024
#define JOB_ERROR_SUMMARY_MAX 256

/* Threads for file operations: a hung file system holds one, the others carry on. */
#define IO_POOL_MAX_THREADS 8
/* Threads hashing downloads: SHA-256 with the CPU's SHA extensions outruns a disk with one. */
#define HASH_POOL_THREADS 2
#define HASH_POOL_NICE 10        /* added to the loop's nice value */
/* The thread that starts the early writeback of downloads (sync_file_range() may wait). */
#define WRITEBACK_POOL_THREADS 1
/* The thread of the syncs ahead (sync-ahead.c): one at a time, and a stuck file system's
 * syncfs() holds only it, never the writeback of other downloads. */
#define SYNC_AHEAD_POOL_THREADS 1
/* Threads writing downloads' bodies, one task at a time per transfer. */
#define WRITE_POOL_THREADS 4

/* A temporary file that could not be unlinked yet; it is never forgotten. */
typedef struct PendingUnlink {
        ListNode node;
        FsIdentity identity;
        char *dir;
        dev_t dev;
        ino_t ino;
        char *name;
} PendingUnlink;

/* The temporary files of stopped lanes, still open: unlinked so, a file loses only its name,
 * and its blocks go when it is closed, after the reply, on a worker (with `discard` that
 * costs milliseconds). */
typedef struct LaneFds {
        size_t n;
        size_t file[JOB_MAX_CONCURRENT_FILES];
        int fd[JOB_MAX_CONCURRENT_FILES];
} LaneFds;

/* A file whose end (transferred, its verdict and validator) is stored with the next progress
 * checkpoint instead of a commit of its own: a crash before that costs the file's download,
 * which the next start makes again. Held for running downloads only. */
typedef struct DownloadEnd {
        Job *job;
        size_t file;
} DownloadEnd;
#define DOWNLOAD_ENDS_UNSTORED_MAX 64
/* Downloads whose last file ended, their `transferred` stored together (download-done.c). */
#define DOWNLOADS_DONE_MAX 64

struct Manager {
        sd_event *event;
        ManagerConfig config;
        ManagerObserver observer;
        Engine *engine;
        IoPool *io_pool;                        /* file operations off the loop */
        IoPool *hash_pool;                      /* hashing downloads off the loop (hash-stream.c) */
        IoPool *hash_background_pool;           /* the same while their transfers run: idle CPUs only */
        IoPool *writeback_pool;                 /* downloads' early writeback (transfer-write.c) */
        IoPool *sync_ahead_pool;                /* syncs ahead of Complete (sync-ahead.c) */
        IoPool *write_pool;                     /* downloads' writes (transfer-writer.c) */
        FsDirCache temp_dir;                    /* the directory of the running downloads' next temporary files */
        Job *temp_dir_job;                      /* the running download that used it last;
                                                 * NULL: it waits for the next */
        FsIdentity temp_dir_identity;           /* a copy of the identity temp_dir was opened with */
        sd_event_source *temp_dir_idle;         /* closes temp_dir once the loop has nothing else to do */
        DownloadEnd ends_unstored[DOWNLOAD_ENDS_UNSTORED_MAX];  /* files transferred, their rows not stored yet */
        unsigned n_ends_unstored;
        Job *downloads_done[DOWNLOADS_DONE_MAX];   /* every file transferred, the state not taken yet */
        unsigned n_downloads_done;
        unsigned sync_ahead_files;              /* small files ended since the last sync ahead (sync-ahead.c) */
        uint64_t sync_ahead_bytes;              /* … and their bytes */
        sd_event_source *downloads_done_source; /* … taken once the loop has nothing more urgent */
        bool checkpointing;                     /* the store's log is being copied (wal-checkpoint.c) */
        Store *store;                           /* NULL when the state directory is unusable */
        NetWatch *netwatch;                     /* open while a job waits for the network */
        sd_event_source *network_timer;         /* lets a burst of network news settle */
        NetworkCost *network_cost;              /* NetworkManager, asked while a job is busy */
        sd_event_source *inactivity_timer;

        List jobs;                              /* non-final, oldest first */
        List retained;                          /* final, object still on the bus */
        Hashmap *index;                         /* every job with an object, by id */
        Hashmap *owners;                        /* each owner's queued jobs, by uid (job-index.c) */
        Hashmap *bindings;                      /* listed jobs bound to a client, by client (owner-gone.c) */

        sd_event_source *schedule_source;       /* deferred scheduler run */
        SchedulerQueue *schedule_queue;         /* every listed job, in the scheduler's order */
        uint64_t schedule_seq;                  /* the next job's place in that queue */
        /* Tests: the queue as a walk sees it (scheduler-check.c). */
        struct SchedulerEntry *schedule_entries;
        Job **schedule_jobs;                    /* the job of each entry */
        size_t n_schedule_entries, n_schedule_entries_allocated, n_schedule_jobs_allocated;
        size_t *schedule_scratch;               /* for counting each user's slots */
        size_t n_schedule_scratch_allocated;
        size_t schedule_owners;                 /* users holding background slots, as last counted */
        sd_event_source *auto_complete_source;  /* deferred, batched auto-completion */
        List auto_complete;                     /* jobs whose completion is due */
        sd_event_source *slice_timer;           /* turns among background jobs of one priority */
        sd_event_source *progress_timer;        /* rate-limits progress checkpoints */
        List dirty;                             /* jobs with progress to checkpoint */
        sd_event_source *notify_source;         /* progress signals, once per loop iteration */
        sd_event_source *notify_timer;          /* … once a job's MinimumNotificationInterval passed */
        Job *notify_head;                       /* progress not told yet */
        List changed;                           /* jobs with changes not told yet */
        bool batch;                             /* in a batch's call (manager_batch_begin()) */
        bool batch_open;                        /* a batch waits to be committed and told */
        unsigned batch_calls;                   /* … with this many calls */
        bool batch_schedule;                    /* … and a scheduler pass put off until then */
        sd_event_source *batch_source;          /* closes it when nothing is more urgent */
        Job *batch_job;                         /* made by the batch's call: stored whole at its end */
        FsDirCheck dir_check;                   /* the batch's destination directory, checked and kept open */
        HeapGrowth heap_growth;                 /* the heap's growth under new jobs, in huge pages */
        Job *stored_ahead;                      /* its event's row is committed already */
        sd_event_source *changed_source;        /* … told once per loop iteration */
        /* What the queued jobs' WaitReasons were last checked against (job-wait.c): while it
         * stays, only the jobs told or changed since (wait_dirty) can need a new one. */
        bool wait_told_slots_full;
        int wait_told_best_priority;
        bool wait_walk_all;                     /* the network changed: check every queued job */
        bool wait_foreground_changed;           /* a foreground job started or stopped */
        bool wait_updating;
        bool wait_silent;                       /* the first check after loading: nothing told */
        List wait_dirty;                        /* Job.wait_node */

        List pending_unlinks;                   /* PendingUnlink */
        sd_event_source *unlink_timer;
        uint64_t unlink_retry_usec;             /* doubles while unlinks keep failing */

        List pending_deletes;                   /* DeleteEntry: tus DELETEs of cancelled uploads */

        /* Listed jobs that keep the daemon busy (queued, connecting, transferring,
         * transient-error) and that wait for the network: kept in step with every change of a
         * listed job's state or error (idle_uncount/idle_recount), so that the question asked
         * after every change does not walk 10 000 jobs. */
        unsigned n_busy, n_network_waiting;
        bool check_counts;                      /* tests: recount and compare at every check */
        bool log_pass_starts;                   /* tests: log each scheduler pass's starts */

        uint64_t bytes_from_cache;              /* every download's, since the daemon started */
        uint64_t bytes_from_origin;

        bool idle;
};

/* A DELETE that must reach the server, retried with a doubling delay until its deadline. */
typedef struct DeleteEntry {
        ListNode node;
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
        bool moved;             /* a file of it was renamed into place */
        bool stored;            /* its completion is committed with the batch's (job_store_event()) */
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

/* A job's creation, not told yet: its announcement (InterfacesAdded, JobNew) takes the place
 * of the changes it gathered before (job_changes_flush(), job_announce_new()). */
#define JOB_UNTOLD_NEW (1u << 31)

/* manager.c */
void manager_notify_changed(Job *j, unsigned changes);
uint64_t manager_now_realtime(Manager *m);
void manager_crash_point(const char *name);
void manager_call_finish(JobCall *c, int r, const CallError *e, bool partial);
void manager_calls_shutdown(JobCall **list);
/* Before a signal that is not part of an open batch: the batch is committed and told first. */
void manager_batch_release(Manager *m);
/* The job was made by the batch's call under way: its steps leave the store to
 * manager_batch_end(), which writes it once. */
bool manager_batch_stores(const Job *j);

/* wal-checkpoint.c */
bool wal_checkpoint_want(void *userdata);

/* job-index.c */
int job_index_add(Manager *m, Job *j);
void job_index_remove(Manager *m, Job *j);
int job_index_enter(Manager *m, Job *j);
void job_index_leave_queue(Manager *m, Job *j);
void job_index_done(Manager *m);

/* checkpoint.c */
void checkpoint_save_row(Job *j);
void checkpoint_save(Job *j);
void checkpoint_save_file(Job *j, size_t i);
/* The rows of the files in flight (their byte counts): the lanes' files, or once they
 * stopped, the files the run started and did not finish. */
void checkpoint_save_in_flight(Job *j);
/* Writes the job's counters when they differ from what the store holds, before a signal tells
 * them; true when there is something to commit. */
bool checkpoint_before_telling(Job *j);
/* After a failed commit: what the store holds of the counters is not known. */
void checkpoint_stored_unknown(Job *j);
/* After the commit of a row of the job as it is now: its counters are stored. */
void checkpoint_stored(Job *j);
/* Store `row` (the job as a change leaves it, see job_apply_full) and commit: the row only, or,
 * when whole, with every file. Negative errno when the store refuses it. */
int checkpoint_store(Job *j, const Job *row, bool whole);
/* The error of a call whose change the store refused: IOError naming the state directory. */
int checkpoint_store_error(Job *j, int r, CallError *e);
int checkpoint_on_timer(sd_event_source *s, uint64_t usec, void *userdata);
void checkpoint_mark(Job *j);
void checkpoint_mark_files(Job *j);
void checkpoint_flush_files(Manager *m);
bool checkpoint_is_marked(const Job *j);
void checkpoint_unmark(Job *j);

/* pending-unlink.c */
void pending_unlink_free(PendingUnlink *p);
int pending_unlink_on_timer(sd_event_source *s, uint64_t usec, void *userdata);
void pending_unlink_remove_temporary(Job *j, JobFile *f);
bool pending_unlink_start(Job *j, bool all, LaneFds *fds);
int pending_unlink_adopt(uid_t owner, const char *dir, dev_t dev, ino_t ino, const char *name,
                         void *userdata);

/* idle.c */
bool idle_job_waits_for_network(const Job *j);
void idle_uncount(Job *j);
void idle_recount(Job *j);
void idle_count_start(Job *j);
void idle_count_stop(Job *j);
void idle_check_counts(Manager *m);
void idle_check(Manager *m);

/* owner-gone.c: a listed job with CancelWhenOwnerGone joins its client's binding (-ENOMEM),
 * and leaves it when it leaves the queue or its binding changes. */
int owner_gone_bind(Job *j);
void owner_gone_unbind(Job *j);
void owner_gone_done(Manager *m);

/* network-retry.c */
int network_retry_on_settled(sd_event_source *s, uint64_t usec, void *userdata);
void network_retry_update_watch(Manager *m);

/* inactivity.c */
int inactivity_on_timer(sd_event_source *s, uint64_t usec, void *userdata);
void inactivity_arm(Manager *m, uint64_t modification_time);

/* progress-notify.c */
void job_notify_progress(Job *j);
void job_progress_told(Job *j);
void job_notify_forget(Job *j);
int on_notify_defer(sd_event_source *s, void *userdata);
int on_notify_timer(sd_event_source *s, uint64_t usec, void *userdata);
void job_changes_gather(Job *j, unsigned changes);
void job_changes_flush(Job *j);
/* Announces a new job (observer.job_new), its progress and wait reason told with it. */
void job_announce_new(Job *j);
void job_changes_forget(Job *j);
void manager_changes_flush(Manager *m);
int on_changes_defer(sd_event_source *s, void *userdata);

/* job-rate.c */
void job_rate_sample(Job *j);
void job_rate_reset(Job *j);

/* network-wait.c */
int network_wait_new(Manager *m);
void network_wait_update(Manager *m);
NetworkVerdict network_wait_verdict(const Job *j);
bool network_wait_absorbs_failure(Job *j, ErrorName name, const char *message);
void network_wait_check_job(Job *j);
void network_wait_log(const Job *j, WaitReason r);

/* job-wait.c */
void job_wait_reason_told(Job *j);
void manager_update_wait_reasons(Manager *m);
/* The job's reason may differ from the one last told: checked at the next update. */
void job_wait_mark(Job *j);
void job_wait_unmark(Job *j);

/* retry.c */
/* A transfer's position went from before to after: progress if it is enough (progress-rule.h). */
void retry_note_received(Job *j, uint64_t before, uint64_t after);
/* When the retry after the transient failure being recorded is due (retry-policy.h); pure,
 * so that the row stored first holds it. */
uint64_t retry_due_time(const Job *j, uint64_t retry_after_usec, uint64_t now);
/* With j->retry_time set from retry_due_time(): counts the failure, arms the timer, logs. */
void retry_arm(Job *j);
void retry_arm_timer(Job *j);
void retry_disarm(Job *j);

/* retention.c */
void retention_retire(Job *j);
void retention_io_released(Job *j);
Job *job_free(Job *j);
/* Arms the timer that ends a final job's object, retention after its retirement. */
void retention_arm(Job *j);

/* job-actions.c */
JobContext job_context(const Job *j);
void job_stop_transfer(Job *j);
void job_set_error(Job *j, ErrorName name, const char *message, const char *summary);
int job_apply_full(Job *j, JobEvent event, uint64_t retry_after_usec, CallError *e);
int job_apply(Job *j, JobEvent event, CallError *e);
/* Writes the row (and files) `event` will leave the job with, without committing or changing
 * the job: several jobs' events in one transaction, one commit. Each is then applied with
 * job_apply_stored(), in the same loop iteration, which does not store it again. */
int job_store_event(Job *j, JobEvent event);
int job_apply_stored(Job *j, JobEvent event, CallError *e);
void job_fail(Job *j, bool fatal, ErrorName name, const char *message, const char *summary,
              uint64_t retry_after_usec);
void job_all_done(Job *j);
/* As job_all_done(), its row committed already (job_store_event()). */
void job_all_done_stored(Job *j);

/* download-lane.c: one file of a download in flight; a job has up to MaxConcurrentFiles. */
struct DownloadLane {
        Job *job;
        DownloadLane *next;             /* in job->lanes */
        size_t file;                    /* its index in job->files */
        Transfer *transfer;             /* the running request */
        HashStream *hash_stream;        /* its bytes hashed off the loop (hash-stream.h) */
        int fd;                         /* the temporary file */
        unsigned restarts;              /* in a row, for this file */
        uint64_t counted_from_cache;    /* of the transfer's bytes, already in the counters */
        uint64_t counted_from_origin;
        bool validator_unstored;        /* the file's validator waits for the commit of its end */
        bool verify_has_server;         /* the server's digest of the file being hashed */
        ServerDigest verify_server;     /* to check it against once the whole file is read */
};

int download_lane_new(Job *j, size_t file, DownloadLane **ret);
/* Stops its work at once (no byte written after this) and frees it. */
DownloadLane *download_lane_free(DownloadLane *l);
/* The transfer stopped, its bytes written (keep_data) or dropped; the lane is freed. What was
 * hashed is kept, up to the hashing thread's last whole piece. */
void download_lane_stop(DownloadLane *l, bool keep_data);
void download_lanes_stop(Job *j, bool keep_data);
bool download_lanes_has_file(const Job *j, size_t file);
/* Takes the lanes' descriptors, before download_lanes_stop() would close them. */
void download_lanes_take_fds(Job *j, LaneFds *ret);
/* The descriptor of file, taken from f (-1 when it holds none). */
int lane_fds_take(LaneFds *f, size_t file);
void lane_fds_close(LaneFds *f);
/* Whether a transfer of the job waits for its bandwidth budget. */
bool download_lanes_throttled(const Job *j);
/* The job's rate (bytes/s, 0 = none), shared by its lanes. */
void download_lanes_set_rate(Job *j, uint64_t job_rate);

/* download.c */
/* Starts files in order until MaxConcurrentFiles are in flight; the job is done once every
 * file is transferred and no lane runs. */
void download_start(Job *j);
/* A Download call's job, which its batch writes whole: while few jobs of its owner are listed,
 * its file's write-ahead record goes into the batch's commit (JobFile.temp_ahead), and its
 * start makes the file without a commit of its own. */
void download_record_with_batch(Job *j);
/* The job's directory kept for its next temporary files is closed: it stopped or is done. */
void download_release_dir(Job *j);
/* The directory kept for the next job's temporary files is closed: nothing else to do. */
int download_on_dir_idle(sd_event_source *s, void *userdata);
void download_begin(DownloadLane *l, uint64_t offset);
void download_file_verified(DownloadLane *l);
void download_restart_file(DownloadLane *l);
/* The rows of the files transferred whose ends are not stored yet (DownloadEnd), of one job
 * or all (only NULL): written (in the caller's transaction, if any) by the progress checkpoint
 * and before a download stops or is done, or dropped (store false: its files go). */
void download_store_ends(Manager *m, Job *only, bool store);

/* download-done.c */
/* Every file of the job ended: it takes `transferred` with the others listed. */
void download_done_later(Job *j);
/* The downloads listed take `transferred`, in one commit, then are told. */
int download_on_done(sd_event_source *s, void *userdata);
/* A job freed before its turn there. */
void download_done_forget(Job *j);
/* Its turn there is due: its changes are told then. */
bool download_done_holds(const Job *j);

/* download-verify.c */
int download_prepare_hasher(DownloadLane *l, uint64_t offset);
void download_verify(DownloadLane *l, const ServerDigest *server);
/* A held stream of file's (hash_stream_hold()) freed, its hasher kept for the next attempt. */
void download_keep_hash(Job *j, size_t file, HashStream *stream);
/* The transfer ended with its hash behind: the file's data is synced meanwhile, on a worker. */
void download_sync_early(DownloadLane *l, const HashStream *stream, uint64_t size);
/* sync-ahead.c: a file of `size` bytes whose transfer ended well, fd still open: counted, and
 * its file system synced in the background after enough of them. */
void download_sync_ahead(Manager *m, int fd, uint64_t size);
void download_integrity_failed(DownloadLane *l, const char *message, const char *summary);
bool download_next_url(DownloadLane *l, const char *why);

/* download-list.c */
bool download_needs_list(const JobFile *f);
void download_fetch_list(Job *j, size_t file);

/* upload.c */
void upload_start(Job *j, JobFile *f);

/* delete-queue.c */
void delete_queue_entry_free(DeleteEntry *d);
void delete_queue_add_upload(Manager *m, Job *j);
int delete_queue_adopt(const PendingDelete *d, void *userdata);

/* scheduler.c */
static inline Job *scheduler_job_of(SchedulerItem *item) {
        return (Job *) ((char *) item - offsetof(Job, sched));
}
/* A job enters the listed set (-ENOMEM), leaves it, or changed its state, priority or
 * CostPolicy: the scheduler's queue follows. */
int scheduler_job_added(Job *j);
void scheduler_job_removed(Job *j);
void scheduler_job_changed(Job *j);
void scheduler_sync_network(Manager *m);
void scheduler_wake(Manager *m);
void scheduler_done(Manager *m);
unsigned scheduler_count_running(Manager *m);
uint64_t scheduler_job_rate(const Job *j, unsigned n_background);
void scheduler_apply_rates(Manager *m);
int scheduler_on_schedule(sd_event_source *s, void *userdata);
int scheduler_on_slice_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* scheduler-check.c */
void scheduler_check_queue(Manager *m);

/* job-files.c */
FsDir job_file_dir(const JobFile *f);
int job_files_validate_url(Manager *m, const char *url, CallError *e);

/* job-file-options.c */
int file_options_check_list(Manager *m, const char *list, const char *signature, char **ret_list,
                            char **ret_signature, CallError *e);
int file_options_apply(Job *j, JobFile *f, const JobFileOptions *o, CallError *e);

/* complete.c */
void complete_auto_queue(Job *j);
void complete_work_fail(CompleteWork *w, int r, const char *format, ...) _printf_(3, 4);
int complete_on_auto_complete(sd_event_source *s, uint64_t usec, void *userdata);

/* job-setters.c */
int job_check_text(const char *what, const char *s, size_t max, CallError *e);
int job_check_not_final(Job *j, const char *what, CallError *e);
