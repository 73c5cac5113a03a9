/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Downloads: starting files in order, up to MaxConcurrentFiles at a time (download-lane.c),
 * each a transfer into its temporary file, and the transfers' callbacks. What the bytes are
 * checked against is download-verify.c's; checksum lists are download-list.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "hash-stream.h"
#include "http-util.h"
#include "log.h"
#include "manager-internal.h"
#include "scheduler-policy.h"
#include "store.h"
#include "url-strip.h"
#include "util.h"

#define MAX_RESTARTS 3

static void on_transfer_response(Transfer *t, void *userdata) {
        DownloadLane *l = userdata;
        Job *j = l->job;

        if (j->state == JOB_CONNECTING)
                (void) job_apply(j, JOB_EVENT_RESPONSE, NULL);
}

/* Adds the bytes the transfer received since the last call to the job's and the daemon's
 * counters, by where they came from. */
static void count_sources(DownloadLane *l, Transfer *t) {
        Job *j = l->job;
        Manager *m = j->manager;
        uint64_t c = transfer_get_bytes_from_cache(t), o = transfer_get_bytes_from_origin(t);

        j->bytes_from_cache += c - l->counted_from_cache;
        m->bytes_from_cache += c - l->counted_from_cache;
        j->bytes_from_origin += o - l->counted_from_origin;
        m->bytes_from_origin += o - l->counted_from_origin;
        if (c != l->counted_from_cache || o != l->counted_from_origin)
                j->counters_unstored = true;
        l->counted_from_cache = c;
        l->counted_from_origin = o;
}

static void on_transfer_progress(Transfer *t, void *userdata) {
        DownloadLane *l = userdata;
        Job *j = l->job;
        JobFile *f = j->files[l->file];

        uint64_t before = f->bytes_transferred;

        count_sources(l, t);
        f->bytes_transferred = transfer_get_position(t);
        f->bytes_total = transfer_get_total(t);
        retry_note_received(j, before, f->bytes_transferred);
        if (!f->validator) {
                /* Stored with the first bytes, before they go to the file: a resume after a
                 * crash needs it for If-Range. A body that is all here ends in this same
                 * dispatch, and the store gets it with the file's end (a crash before that
                 * costs only this file's bytes, which no validator names). */
                const char *v = transfer_get_validator(t);
                if (v && free_and_strdup(&f->validator, v) >= 0) {
                        if (f->bytes_total != UINT64_MAX && f->bytes_transferred >= f->bytes_total)
                                l->validator_unstored = true;
                        else
                                checkpoint_save_file(j, l->file);
                }
        }
        checkpoint_mark(j);
}

static bool ends_listed(const Manager *m, const Job *only) {
        for (unsigned i = 0; i < m->n_ends_unstored; i++)
                if (!only || m->ends_unstored[i].job == only)
                        return true;
        return false;
}

void download_store_ends(Manager *m, Job *only, bool store) {
        unsigned kept = 0;

        assert(m);

        /* Nothing of this job: no transaction, which would also close a batch of Download
         * calls still open (a Get of one job while another's ends wait). */
        if (!ends_listed(m, only))
                return;
        bool in_transaction = store && m->store && store_begin(m->store) >= 0;
        for (unsigned i = 0; i < m->n_ends_unstored; i++) {
                DownloadEnd e = m->ends_unstored[i];
                if (only && e.job != only)
                        m->ends_unstored[kept++] = e;
                else if (in_transaction)
                        checkpoint_save_file(e.job, e.file);
        }
        m->n_ends_unstored = kept;
        if (in_transaction)
                (void) store_end(m->store);
}

/* A lane's file is transferred and its bytes checked out: the lane goes, and the next file
 * takes its place. */
void download_file_verified(DownloadLane *l) {
        Job *j = l->job;
        Manager *m = j->manager;
        JobFile *f = j->files[l->file];

        /* The file's end (and its verdict) waits for the next progress checkpoint, or for the
         * job's end, which stores it first: a commit for each of many small files cost more
         * than their transfers. Before a crash the temporary file holds its bytes, which the
         * next start takes up again as it finds them. One transaction for what this writes. */
        bool in_transaction = m->store && store_begin(m->store) >= 0;
        f->completed = true;
        f->bytes_total = f->bytes_transferred;
        if (m->n_ends_unstored == DOWNLOAD_ENDS_UNSTORED_MAX)
                download_store_ends(m, NULL, true);
        m->ends_unstored[m->n_ends_unstored++] = (DownloadEnd) { .job = j, .file = l->file };
        manager_crash_point("file-end-listed");
        download_lane_free(l);
        j->last_progress_time = manager_now_realtime(j->manager);
        /* FilesTransferred goes out with the next progress checkpoint: a job of many small
         * files must not send one signal per file. */
        checkpoint_mark(j);
        download_start(j);
        if (in_transaction)
                (void) store_end(j->manager->store);
}

static void on_transfer_done(Transfer *t, const TransferResult *res, void *userdata) {
        DownloadLane *l = userdata;
        Job *j = l->job;
        JobFile *f = j->files[l->file];
        ServerDigest server;
        bool has_server = transfer_get_server_digest(t, &server) > 0;
        /* The hashing goes on past the transfer's end: the verdict waits for it. */
        _cleanup_(hash_stream_freep) HashStream *stream = TAKE_PTR(l->hash_stream);

        count_sources(l, t);
        f->bytes_transferred = transfer_get_position(t);
        f->bytes_total = transfer_get_total(t);
        /* Only a response whose bytes went into the file names their version; a failure
         * before the headers keeps the validator of the bytes held. */
        const char *v = transfer_get_validator(t);
        bool validator_changed = v && !streq_ptr(v, f->validator);
        if (validator_changed)
                (void) free_and_strdup(&f->validator, v);
        /* The bytes still buffered go to the file; the lane stays, for what follows. */
        int r = transfer_stop(t);
        if (r < 0)
                log_job_warning(j->id, j->owner, NULL, "Writing the last received bytes of %s failed: %s", f->path,
                                strerror(-r));
        f->bytes_transferred = transfer_get_position(t);
        if (l->validator_unstored && res->outcome == TRANSFER_OK)
                manager_crash_point("file-end-unstored");
        l->transfer = transfer_free(l->transfer);
        if (res->outcome == TRANSFER_OK && stream)
                download_sync_early(l, stream, f->bytes_transferred);
        if (res->outcome == TRANSFER_OK && l->fd >= 0)
                download_sync_ahead(j->manager, l->fd, f->bytes_transferred);
        l->fd = safe_close(l->fd);
        if ((validator_changed || l->validator_unstored) && res->outcome != TRANSFER_OK)
                checkpoint_save_file(j, l->file);
        l->validator_unstored = false;

        switch (res->outcome) {
        case TRANSFER_OK:
                l->hash_stream = TAKE_PTR(stream);
                download_verify(l, has_server ? &server : NULL);
                return;

        case TRANSFER_INTEGRITY:
                download_integrity_failed(l, res->message, res->summary);
                return;

        case TRANSFER_RESTART:
                /* The bytes we hold belong to another version of the resource: start over. */
                if (++l->restarts > MAX_RESTARTS) {
                        job_fail(j, false, ERROR_NAME_HTTP, "The server keeps answering range requests inconsistently",
                                 "Inconsistent range responses", 0);
                        return;
                }
                log_info("Job %s: %s changed on the server or cannot be resumed; downloading it again from the start.",
                         j->id, URL_SHOWN(job_file_current_url(f)));
                pending_unlink_remove_temporary(j, f);
                f->bytes_total = UINT64_MAX;
                checkpoint_save_file(j, l->file);
                download_restart_file(l);
                return;

        case TRANSFER_FATAL:
                /* This URL will not give the file (a 404, say): the next mirror may. */
                if (res->error_name != ERROR_NAME_LOCAL_FILE && download_next_url(l, res->message))
                        return;
                job_fail(j, true, res->error_name, res->message, res->summary, res->retry_after_usec);
                return;

        case TRANSFER_TRANSIENT:
                /* The file stays for the retry; so does what was hashed of it (held: the free
                 * takes the hasher as of the thread's last piece rather than drop it all). */
                if (stream)
                        download_keep_hash(j, l->file, TAKE_PTR(stream));
                job_fail(j, false, res->error_name, res->message, res->summary, res->retry_after_usec);
                return;
        }
}

static const TransferCallbacks transfer_callbacks = {
        .on_response = on_transfer_response,
        .on_progress = on_transfer_progress,
        .on_done = on_transfer_done,
};

/* One directory is kept open for the temporary files of the running downloads (a job's files
 * follow each other in it, and jobs of one user often share one), and after the last job
 * that used it stops or is done, until the loop has nothing else to do: a user's directory
 * is never held open while nothing runs, which would keep its file system busy. Each
 * creation looks the path up again as its owner (fsops.c), and an fd opened for another
 * identity or directory is not used. */

/* The kept directory with a copy of the identity it was opened with, which the job it was
 * opened for may not outlive; false when there is no memory for one. */
static bool kept_dir_own_identity(Manager *m) {
        if (m->temp_dir.fd < 0 || !m->temp_dir.identity || m->temp_dir.identity == &m->temp_dir_identity)
                return true;
        fs_identity_done(&m->temp_dir_identity);
        if (fs_identity_copy(m->temp_dir.identity, &m->temp_dir_identity) < 0) {
                fs_identity_done(&m->temp_dir_identity);
                return false;
        }
        m->temp_dir.identity = &m->temp_dir_identity;
        return true;
}

static FsDirCache *job_kept_dir(Job *j) {
        Manager *m = j->manager;

        if (m->temp_dir_job != j) {
                if (!kept_dir_own_identity(m))
                        fs_dir_cache_done(&m->temp_dir);
                m->temp_dir_job = j;
                (void) sd_event_source_set_enabled(m->temp_dir_idle, SD_EVENT_OFF);
        }
        return &m->temp_dir;
}

void download_release_dir(Job *j) {
        Manager *m;

        assert(j);

        m = j->manager;
        if (m->temp_dir_job != j)
                return;
        m->temp_dir_job = NULL;
        if (m->temp_dir.fd < 0)
                return;
        if (!kept_dir_own_identity(m)) {
                fs_dir_cache_done(&m->temp_dir);
                return;
        }
        (void) sd_event_source_set_enabled(m->temp_dir_idle, SD_EVENT_ONESHOT);
}

int download_on_dir_idle(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        if (!m->temp_dir_job)
                fs_dir_cache_done(&m->temp_dir);
        return 0;
}

static bool errno_is_disk_full(int r) {
        return r == -ENOSPC || r == -EDQUOT;
}

/* Temporary files recorded in one commit: the first, then the files after it that have none. */
#define RECORD_AHEAD 16

static bool record_ahead(const JobFile *f) {
        return !f->completed && !f->temp_exists;
}

/* A queued download whose first file may be recorded ahead of its start. */
static bool job_records_ahead(const Job *j) {
        return j->type == JOB_DOWNLOAD && j->state == JOB_QUEUED && j->n_files > 0 && record_ahead(j->files[0]) &&
               !download_needs_list(j->files[0]);
}

/* The most of the owner's queued jobs after j looked at for records ahead. */
#define RECORD_AHEAD_LOOK 32

/* Write-ahead: the store knows of a temporary file before it exists, so a crash right after
 * creating it cannot leave an orphan. The next files' records go into the same commit (a file
 * recorded but never made is one the next start finds missing, and makes again), and, while
 * there is room, the first files of the jobs that start next: the owner's queued jobs after
 * this one, of its priority (the scheduler starts a user's jobs of one priority oldest first),
 * as a Download call's is recorded with its batch (download_record_with_batch()). A job
 * started while hundreds more of its owner wait commits its record only once in every few
 * starts then. Without the old bytes' validator: the new bytes may land before theirs is stored
 * (a small body's goes with its end), and the old one must never name them. */
static int record_temporaries(Job *j, size_t first) {
        Store *store = j->manager->store;
        JobFile *files[RECORD_AHEAD];
        size_t n = 0;
        int r;

        /* One commit for all of them: a start from the scheduler's pass has no transaction
         * open, where each statement would commit itself. */
        r = store_begin(store);
        bool begun = r >= 0;
        for (size_t i = first; i < j->n_files && n < RECORD_AHEAD; i++) {
                JobFile *f = j->files[i];
                if (i > first && !record_ahead(f))
                        continue;
                files[n++] = f;
                f->validator = mfree(f->validator);
                f->temp_exists = true;
                f->temp_ahead = i > first;
                if (r >= 0)
                        r = store_save_file(store, j, i);
        }
        if (first == 0) {
                Job *k = job_next_owned(j);
                for (unsigned look = 0; k && look < RECORD_AHEAD_LOOK && n < RECORD_AHEAD && r >= 0;
                     look++, k = job_next_owned(k)) {
                        if (k->priority != j->priority || !job_records_ahead(k))
                                continue;
                        JobFile *f = k->files[0];
                        files[n++] = f;
                        f->validator = mfree(f->validator);
                        f->temp_exists = f->temp_ahead = true;
                        r = store_save_file(store, k, 0);
                }
        }
        if (r >= 0)
                r = store_commit(store);
        if (begun) {
                int k = store_end(store);
                if (r >= 0)
                        r = k;
        }
        if (r < 0)
                for (size_t k = 0; k < n; k++)
                        files[k]->temp_exists = files[k]->temp_ahead = false;
        return r;
}

/* While at most this many jobs of its owner are listed, a Download's job is about to start. */
#define RECORD_WITH_BATCH_MAX_JOBS 256

void download_record_with_batch(Job *j) {
        assert(j);

        if (j->type != JOB_DOWNLOAD || !manager_batch_stores(j) || j->n_files == 0 ||
            scheduler_queue_user_jobs(j->manager->schedule_queue, j->owner) > RECORD_WITH_BATCH_MAX_JOBS)
                return;
        JobFile *f = j->files[0];
        if (!record_ahead(f) || download_needs_list(f))
                return;
        f->validator = mfree(f->validator);
        f->temp_exists = f->temp_ahead = true;
}

/* Opens (or creates) the lane's temporary file and starts its transfer, continuing after the
 * bytes already on disk: the file is the truth for how far a download got. Returns < 0 when
 * the job failed (every lane is gone then). */
static int lane_start(DownloadLane *l) {
        Job *j = l->job;
        JobFile *f = j->files[l->file];
        FsDir d = job_file_dir(f);
        uint64_t offset = 0;
        int fd = -1, r;
        char msg[1024];

        /* Recorded with an earlier file's, not made yet. */
        bool recorded = f->temp_exists && f->temp_ahead;
        f->temp_ahead = false;
        if (f->temp_exists && !recorded) {
                struct stat st;
                fd = fsops_open_temporary(&j->identity, &d, f->temp_name, &st);
                if (fd >= 0)
                        offset = (uint64_t) st.st_size;
                else if (fd == -ENOENT)
                        f->temp_exists = false;  /* vanished: download it again */
                else {
                        r = fd;
                        snprintf(msg, sizeof msg, "Cannot open temporary file %s/%s: %s", f->dir, f->temp_name, strerror(-r));
                        job_fail(j, !errno_is_disk_full(r), ERROR_NAME_LOCAL_FILE, msg, strerror(-r), 0);
                        return r;
                }
        }
        /* Starts come from the scheduler's source or a transfer's end, never from inside a
         * batch's call, whose store is held (a commit there would not be one). A record made by
         * a batch still open (download_record_with_batch()) is committed first. */
        assert(!j->manager->batch);
        if (recorded)
                manager_batch_release(j->manager);
        if (!f->temp_exists || recorded) {
                r = recorded ? 0 : record_temporaries(j, l->file);
                if (r < 0) {
                        snprintf(msg, sizeof msg, "Cannot record the temporary file of %s in the job store: %s",
                                 f->path, strerror(-r));
                        job_fail(j, false, ERROR_NAME_LOCAL_FILE, msg, strerror(-r), 0);
                        return r;
                }
                /* The jobs a scheduler pass starts (and a job's next files, started together)
                 * share the lookup of their directory's path: one iteration of the loop is one
                 * epoch, as for the Download calls of one batch (dir-check.h). */
                uint64_t iteration, epoch = 0;
                if (sd_event_get_iteration(j->manager->event, &iteration) >= 0)
                        epoch = iteration + 1;
                fd = fsops_create_temporary(&j->identity, &d, job_kept_dir(j), epoch, f->temp_name);
                if (fd == -EEXIST) {
                        /* Only xferd makes names with this job's id: a leftover of ours. */
                        (void) fsops_unlink(&j->identity, &d, f->temp_name);
                        fd = fsops_create_temporary(&j->identity, &d, job_kept_dir(j), epoch, f->temp_name);
                }
                if (fd < 0) {
                        r = fd;
                        f->temp_exists = false;
                        checkpoint_save_file(j, l->file);
                        snprintf(msg, sizeof msg, "Cannot create temporary file in %s: %s%s", f->dir, strerror(-r),
                                 r == -ESTALE ? " (the directory was replaced after the file was added)" : "");
                        job_fail(j, !errno_is_disk_full(r), ERROR_NAME_LOCAL_FILE, msg, strerror(-r), 0);
                        return r;
                }
        }
        if (offset > 0 && !f->validator) {
                /* Bytes of unknown version: continuing them could splice two versions of the
                 * resource into one file, so they go. */
                log_info("Job %s: no validator for the %" PRIu64 " bytes held of %s; starting it again.",
                         j->id, offset, URL_SHOWN(job_file_current_url(f)));
                if (ftruncate(fd, 0) < 0) {
                        r = -errno;
                        safe_close(fd);
                        snprintf(msg, sizeof msg, "Cannot truncate temporary file %s/%s: %s", f->dir, f->temp_name,
                                 strerror(-r));
                        job_fail(j, true, ERROR_NAME_LOCAL_FILE, msg, strerror(-r), 0);
                        return r;
                }
                offset = 0;
        }
        if (offset == 0)
                f->validator = mfree(f->validator);
        f->bytes_transferred = offset;

        l->fd = fd;
        /* The bytes held are hashed off the loop while the rest arrives. */
        r = download_prepare_hasher(l, offset);
        if (r < 0) {
                snprintf(msg, sizeof msg, "Cannot check the bytes held of %s: %s", f->path, strerror(-r));
                job_fail(j, false, ERROR_NAME_LOCAL_FILE, msg, strerror(-r), 0);
                return r;
        }
        download_begin(l, offset);
        return job_state_is_active(j->state) ? 0 : -ECANCELED;
}

void download_restart_file(DownloadLane *l) {
        assert(l);

        (void) lane_start(l);
}

void download_start(Job *j) {
        assert(j);

        while (j->current < j->n_files && j->files[j->current]->completed)
                j->current++;
        if (j->type == JOB_UPLOAD) {
                if (j->current >= j->n_files)
                        job_all_done(j);
                else
                        upload_start(j, j->files[j->current]);
                return;
        }
        if (!j->lanes)
                j->next_file = j->current;
        if (j->next_file < j->current)
                j->next_file = j->current;
        /* A checksum list being fetched comes first: its end starts the files that wait. */
        if (j->signed_list)
                return;

        unsigned max = j->max_concurrent_files > 0 ? j->max_concurrent_files : 1;
        for (; j->next_file < j->n_files && j->n_lanes < max; j->next_file++) {
                size_t i = j->next_file;
                JobFile *f = j->files[i];
                DownloadLane *l;

                if (f->completed || download_lanes_has_file(j, i))
                        continue;
                /* The expected digest comes from a signed list not fetched yet: that first. */
                if (download_needs_list(f)) {
                        download_fetch_list(j, i);
                        break;
                }
                if (download_lane_new(j, i, &l) < 0) {
                        job_fail(j, false, ERROR_NAME_LOCAL_FILE, "Out of memory", "Out of memory", 0);
                        return;
                }
                if (lane_start(l) < 0)
                        return;  /* the job failed */
        }
        if (!j->lanes && !j->signed_list && j->current >= j->n_files) {
                download_release_dir(j);
                download_done_later(j);
                return;
        }
        /* The job's rate is split again over the lanes it now has. */
        if (j->lanes && j->lane_rate > 0)
                download_lanes_set_rate(j, j->lane_rate);
}

/* Starts the request for the lane's file from `offset`, into its temporary file. */
void download_begin(DownloadLane *l, uint64_t offset) {
        Job *j = l->job;
        Manager *m = j->manager;
        JobFile *f = j->files[l->file];
        const char *url = job_file_current_url(f);
        char msg[1024];
        int r;

        if (j->n_lanes <= 1)
                j->lane_rate = scheduler_job_rate(j, scheduler_count_running(m));
        TransferRequest req = {
                .url = url,
                .fd = l->fd,
                .offset = offset,
                .validator = f->validator,
                .http = job_http_settings(j),
                .origin_url = f->url,
                .max_speed = scheduler_lane_rate(j->lane_rate, j->n_lanes),
                .hash_stream = l->hash_stream,
                .expect_size = f->expect_size,
                .expected_size = f->expected_size,
                .identity = &j->identity,
                /* A limit, like the others root is exempt from; the reserve is the disk's. */
                .max_size = j->owner != 0 ? m->config.max_file_size : 0,
                .keep_free = m->config.keep_free,
                /* The temporary file is in the file's recorded directory (checked at its
                 * creation). */
                .fs_dev = f->dir_dev,
                /* Files in flight together share a connection where the server multiplexes
                 * (HTTP/2, offered over TLS); waiting on a plain HTTP/1.1 connection would
                 * hold them back until the first response ends. */
                .pipewait = j->max_concurrent_files > 1 && strncasecmp(url, "https:", 6) == 0,
                .writeback_pool = m->writeback_pool,
                .write_pool = m->write_pool,
        };
        l->counted_from_cache = l->counted_from_origin = 0;
        r = transfer_start(m->engine, &req, &transfer_callbacks, l, &l->transfer);
        if (r < 0) {
                l->fd = safe_close(l->fd);
                snprintf(msg, sizeof msg, "Cannot start the transfer of %s: %s", URL_SHOWN(url), strerror(-r));
                job_fail(j, false, ERROR_NAME_NETWORK, msg, strerror(-r), 0);
                return;
        }
        log_job_debug(j->id, j->owner, url, "Transferring file %zu from byte %" PRIu64 ".", l->file, offset);
}
