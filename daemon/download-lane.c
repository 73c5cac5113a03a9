/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files of a download in flight at once ("lanes", up to MaxConcurrentFiles): each has its
 * own transfer, temporary file descriptor and hash stream, and a share of the job's rate. The
 * job holds one scheduler slot whatever their number. */
#include "log.h"
#include "manager-internal.h"
#include "hash-stream.h"
#include "scheduler-policy.h"
#include "transfer.h"
#include "util.h"

int download_lane_new(Job *j, size_t file, DownloadLane **ret) {
        DownloadLane *l;

        assert(j);
        assert(file < j->n_files);
        assert(ret);

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->job = j;
        l->file = file;
        l->fd = -1;
        l->next = j->lanes;
        j->lanes = l;
        j->n_lanes++;
        *ret = l;
        return 0;
}

DownloadLane *download_lane_free(DownloadLane *l) {
        if (!l)
                return NULL;

        Job *j = l->job;
        for (DownloadLane **p = &j->lanes; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        j->n_lanes--;
                        break;
                }
        /* The easy handle leaves the multi first: no byte after this. Hashing stops after the
         * piece a thread holds. */
        transfer_free(l->transfer);
        hasher_free(hash_stream_free(l->hash_stream));
        safe_close(l->fd);
        return mfree(l);
}

void download_lane_stop(DownloadLane *l, bool keep_data) {
        assert(l);

        Job *j = l->job;
        /* Bytes received but not yet written go to a file that is kept, never to one about to
         * go. */
        if (keep_data && l->transfer) {
                /* Nothing more goes to a hashing thread: the free below keeps the hasher as of
                 * the thread's last whole piece, so the next start reads back only the last
                 * buffers, not the whole file. */
                if (l->hash_stream)
                        hash_stream_hold(l->hash_stream);
                int r = transfer_stop(l->transfer);
                if (r < 0)
                        log_job_warning(j->id, j->owner, NULL, "Writing the last received bytes failed: %s",
                                        strerror(-r));
                /* What the file really holds, should that last write have failed. */
                if (l->file < j->n_files)
                        j->files[l->file]->bytes_transferred = transfer_get_position(l->transfer);
        }
        /* What was hashed is kept for the next attempt when no thread holds it (a Suspend, a
         * retry). */
        if (keep_data && l->hash_stream && l->file < j->n_files)
                download_keep_hash(j, l->file, TAKE_PTR(l->hash_stream));
        download_lane_free(l);
}

void download_lanes_stop(Job *j, bool keep_data) {
        assert(j);

        while (j->lanes)
                download_lane_stop(j->lanes, keep_data);
        download_release_dir(j);
        /* The ends of files that are kept are stored; those of files about to go need not be. */
        download_store_ends(j->manager, j, keep_data);
}

void download_lanes_take_fds(Job *j, LaneFds *ret) {
        assert(j);
        assert(ret);

        for (DownloadLane *l = j->lanes; l && ret->n < JOB_MAX_CONCURRENT_FILES; l = l->next)
                if (l->fd >= 0) {
                        ret->file[ret->n] = l->file;
                        ret->fd[ret->n++] = TAKE_FD(l->fd);
                }
}

int lane_fds_take(LaneFds *f, size_t file) {
        assert(f);

        for (size_t i = 0; i < f->n; i++)
                if (f->file[i] == file && f->fd[i] >= 0)
                        return TAKE_FD(f->fd[i]);
        return -1;
}

void lane_fds_close(LaneFds *f) {
        assert(f);

        for (size_t i = 0; i < f->n; i++)
                f->fd[i] = safe_close(f->fd[i]);
        f->n = 0;
}

bool download_lanes_has_file(const Job *j, size_t file) {
        assert(j);

        for (const DownloadLane *l = j->lanes; l; l = l->next)
                if (l->file == file)
                        return true;
        return false;
}

bool download_lanes_throttled(const Job *j) {
        assert(j);

        for (const DownloadLane *l = j->lanes; l; l = l->next)
                if (l->transfer && transfer_is_paused(l->transfer))
                        return true;
        return false;
}

void download_lanes_set_rate(Job *j, uint64_t job_rate) {
        assert(j);

        j->lane_rate = job_rate;
        uint64_t rate = scheduler_lane_rate(job_rate, j->n_lanes);
        for (DownloadLane *l = j->lanes; l; l = l->next)
                if (l->transfer)
                        (void) transfer_set_max_speed(l->transfer, rate);
}
