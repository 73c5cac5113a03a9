/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a download's bytes are checked against (verify.h): the hasher that follows the
 * transfer off the loop (the bytes a file already holds first, while a resume appends), the verdict once
 * the transfer ends, and what a wrong file means: the temporary file goes, and the next mirror
 * is tried, or the job fails with Integrity. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

#include "digest.h"
#include "log.h"
#include "manager-internal.h"
#include "url-strip.h"
#include "hash-stream.h"
#include "util.h"
#include "verify.h"

/* The expectations of f, with `expected` as the storage of its digest. */
static VerifyExpect file_expect(const JobFile *f, Digest *expected, const ServerDigest *server) {
        VerifyExpect e = {
                .expected_size = f->expect_size ? f->expected_size : UINT64_MAX,
                .server = server,
        };

        /* Stored by xferd in its own spelling: it parses (a damaged row expects nothing). */
        if (f->checksum && digest_from_string(f->checksum, expected, NULL, 0) >= 0) {
                e.expected = expected;
                e.expected_source = f->checksum_source == VERIFY_BY_CHECKSUM_LIST ? VERIFY_BY_CHECKSUM_LIST
                                                                                   : VERIFY_BY_CHECKSUM;
        }
        return e;
}

/* Whether h can go on: it holds a prefix of the bytes held, with every algorithm needed. */
static bool hasher_continues(const Hasher *h, uint64_t held, unsigned algorithms) {
        return h && hasher_get_size(h) <= held && (hasher_get_algorithms(h) & algorithms) == algorithms;
}

int download_prepare_hasher(DownloadLane *l, uint64_t offset) {
        Job *j = l->job;
        JobFile *f = j->files[l->file];
        Digest expected;
        VerifyExpect e = file_expect(f, &expected, NULL);
        unsigned needed = verify_algorithms_needed(&e);
        _cleanup_(hasher_freep) Hasher *h = NULL;
        int r;

        /* A stream of an earlier attempt, should one be left, read other bytes. */
        hasher_free(hash_stream_free(TAKE_PTR(l->hash_stream)));
        /* Nothing expected of bytes held: none to hash (a digest the server sends with the rest
         * is checked over the whole file once it is there). */
        if (offset > 0 && needed == 0) {
                f->hasher = hasher_free(f->hasher);
                return 0;
        }
        /* Still in step from the last attempt of this run (a Suspend, a retry): it goes on. */
        if (offset > 0 && hasher_continues(f->hasher, offset, needed))
                h = TAKE_PTR(f->hasher);
        else {
                f->hasher = hasher_free(f->hasher);
                r = hasher_new(needed, &h);
                if (r < 0)
                        return r;
        }
        if (offset > hasher_get_size(h))
                log_job_debug(j->id, j->owner, NULL, "Hashing the %" PRIu64 " bytes held of %s while resuming.",
                              offset - hasher_get_size(h), f->path);
        /* The bytes held are read back and hashed off the loop while the transfer appends. */
        r = hash_stream_new(j->manager->hash_pool, l->fd, h, offset, &l->hash_stream);
        if (r < 0)
                return r;
        TAKE_PTR(h);
        return 0;
}

static void judge(DownloadLane *l, const ServerDigest *server) {
        Job *j = l->job;
        JobFile *f = j->files[l->file];
        char buf[DIGEST_STRING_MAX];
        Digest expected;
        VerifyExpect e = file_expect(f, &expected, server);
        VerifyVerdict v;
        int r;

        r = verify_judge(&e, job_file_current_url(f), f->bytes_transferred, f->hasher, &v);
        if (r < 0) {
                /* Not a wrong file, a hasher without the algorithm: xferd's own mistake. */
                log_job_error_errno(r, j->id, j->owner, NULL, "Cannot judge %s", f->path);
                job_fail(j, false, ERROR_NAME_LOCAL_FILE, "The downloaded file could not be checked", "Cannot check the file", 0);
                return;
        }
        if (!v.ok) {
                download_integrity_failed(l, v.message, v.summary);
                return;
        }
        f->verified_by = v.by;
        f->verified_checksum = mfree(f->verified_checksum);
        if (v.has_digest)
                f->verified_checksum = strdup(digest_to_string(&v.digest, buf));
        if (v.by != 0)
                log_job_info(j->id, j->owner, NULL, "%s checked out (%s).", f->path,
                             v.has_digest ? buf : "its size");
        f->hasher = hasher_free(f->hasher);
        download_file_verified(l);
}

static void on_file_hashed(HashStream *s, int error, void *userdata) {
        DownloadLane *l = userdata;
        Job *j = l->job;
        JobFile *f = j->files[l->file];
        char msg[1024];

        hasher_free(f->hasher);
        f->hasher = hash_stream_free(TAKE_PTR(l->hash_stream));
        if (error < 0 || !f->hasher) {
                if (error >= 0)
                        error = -EIO;
                snprintf(msg, sizeof msg, "Cannot read the temporary file of %s to check it: %s", f->path,
                         strerror(-error));
                pending_unlink_remove_temporary(j, f);
                checkpoint_save_file(j, l->file);
                job_fail(j, false, ERROR_NAME_LOCAL_FILE, msg, strerror(-error), 0);
                return;
        }
        judge(l, l->verify_has_server ? &l->verify_server : NULL);
}

/* The file's data sent to the disk while the hash catches up (called at the transfer's end,
 * before its descriptor closes): on two CPUs a fast download ends
 * with the hash behind (it takes what the transfer leaves, and reads the rest back), and the
 * sync of Complete, which waits for the disk and not for a CPU, would only start after the
 * verdict. Synced now, it goes on beside the hash's last bytes, and Complete's finds it done.
 * A wrong file is deleted as before: the sync only cost the disk's time. */
typedef struct EarlySync {
        IoTask task;                    /* first: the pool hands it back */
        int fd;                         /* a duplicate: the lane's may close first */
} EarlySync;

static void early_sync_run(IoTask *t) {
        EarlySync *e = (EarlySync *) t;

        (void) fdatasync(e->fd);
        /* Here, not on the loop: for a file deleted meanwhile this may be the last close. */
        e->fd = safe_close(e->fd);
}

static void early_sync_free(IoTask *t) {
        EarlySync *e = (EarlySync *) t;

        safe_close(e->fd);
        free(e);
}

void download_sync_early(DownloadLane *l, const HashStream *stream, uint64_t size) {
        EarlySync *e;

        assert(l);
        assert(stream);

        /* Caught up (or hashing nothing): the verdict comes at once, and Complete right after. */
        if (l->fd < 0 || hash_stream_progress(stream) >= size)
                return;
        e = calloc(1, sizeof *e);
        if (!e)
                return;  /* Complete syncs all the same */
        e->fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 3);
        if (e->fd < 0) {
                free(e);
                return;
        }
        e->task = (IoTask) { .run = early_sync_run, .done = early_sync_free, .drop = early_sync_free };
        io_pool_submit(l->job->manager->writeback_pool, &e->task);
}

/* Waits for the stream to reach the end of the file, then judges. */
static void wait_for_stream(DownloadLane *l, const ServerDigest *server) {
        JobFile *f = l->job->files[l->file];
        int r;

        /* Before the verdict, which may come at once: it judges against the server's digest too. */
        l->verify_has_server = server != NULL;
        if (server)
                l->verify_server = *server;
        r = hash_stream_finish(l->hash_stream, f->bytes_transferred, on_file_hashed, l);
        if (r > 0) {
                on_file_hashed(l->hash_stream, 0, l);
                return;
        }
        if (r < 0)
                on_file_hashed(l->hash_stream, r, l);
}

void download_verify(DownloadLane *l, const ServerDigest *server) {
        Job *j = l->job;
        JobFile *f = j->files[l->file];
        FsDir d = job_file_dir(f);
        Digest expected;
        VerifyExpect e = file_expect(f, &expected, server);
        unsigned needed = verify_algorithms_needed(&e);
        _cleanup_(hasher_freep) Hasher *h = NULL;
        struct stat st;
        int fd, r;

        if (needed == 0) {
                hasher_free(hash_stream_free(TAKE_PTR(l->hash_stream)));
                judge(l, server);
                return;
        }
        /* The stream followed every byte: the verdict once it has caught up. */
        if (l->hash_stream && (hash_stream_get_algorithms(l->hash_stream) & needed) == needed) {
                wait_for_stream(l, server);
                return;
        }
        hasher_free(hash_stream_free(TAKE_PTR(l->hash_stream)));

        /* The stream did not follow (a resume with nothing expected, and then the server sent a
         * digest): the whole file is hashed once, off the loop. */
        fd = fsops_open_temporary(&j->identity, &d, f->temp_name, &st);
        if (fd < 0) {
                pending_unlink_remove_temporary(j, f);
                checkpoint_save_file(j, l->file);
                download_restart_file(l);
                return;
        }
        f->hasher = hasher_free(f->hasher);
        r = hasher_new(needed, &h);
        if (r >= 0)
                r = hash_stream_new(j->manager->hash_pool, fd, h, f->bytes_transferred, &l->hash_stream);
        safe_close(fd);
        if (r < 0) {
                job_fail(j, false, ERROR_NAME_LOCAL_FILE, "The downloaded file could not be checked", strerror(-r), 0);
                return;
        }
        TAKE_PTR(h);
        wait_for_stream(l, server);
}

bool download_next_url(DownloadLane *l, const char *why) {
        Job *j = l->job;
        JobFile *f = j->files[l->file];

        if (f->url_index >= strv_length(f->mirrors))
                return false;
        /* Bytes of another server are never continued from this one. */
        pending_unlink_remove_temporary(j, f);
        f->bytes_total = UINT64_MAX;
        f->url_index++;
        checkpoint_save_file(j, l->file);
        log_job_notice(j->id, j->owner, NULL, "%s Trying the next mirror, %s.", why,
                       URL_SHOWN(job_file_current_url(f)));
        download_restart_file(l);
        return true;
}

void download_integrity_failed(DownloadLane *l, const char *message, const char *summary) {
        Job *j = l->job;
        JobFile *f = j->files[l->file];

        log_job_warning(j->id, j->owner, NULL, "%s", message);
        l->fd = safe_close(l->fd);
        if (download_next_url(l, message))
                return;
        /* No URL left: the wrong bytes go, and the next Resume starts from the file's own URL. */
        pending_unlink_remove_temporary(j, f);
        f->bytes_total = UINT64_MAX;
        f->url_index = 0;
        checkpoint_save_file(j, l->file);
        job_fail(j, true, ERROR_NAME_INTEGRITY, message, summary, 0);
}
