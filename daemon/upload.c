/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Uploads: starting a tus upload, and its callbacks. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "http-util.h"
#include "manager-internal.h"
#include "tus.h"
#include "url-strip.h"
#include "util.h"

static void on_upload_created(TusUpload *u, const char *upload_url, void *userdata) {
        Job *j = userdata;

        /* Stored before a byte is sent: after a crash the upload continues, not restarts. */
        (void) free_and_strdup(&j->upload_url, upload_url);
        checkpoint_save_row(j);
        manager_notify_changed(j, JOB_CHANGE_UPLOAD_URL);
}

static void on_upload_response(TusUpload *u, void *userdata) {
        Job *j = userdata;

        if (j->state == JOB_CONNECTING)
                (void) job_apply(j, JOB_EVENT_RESPONSE, NULL);
}

static void on_upload_progress(TusUpload *u, void *userdata) {
        Job *j = userdata;

        JobFile *f = j->files[j->current];
        uint64_t before = f->bytes_transferred;

        f->bytes_transferred = tus_upload_get_position(u);
        retry_note_received(j, before, f->bytes_transferred);
        checkpoint_mark(j);
}

static void on_upload_done(TusUpload *u, const TransferResult *res, void *userdata) {
        Job *j = userdata;
        JobFile *f = j->files[j->current];

        f->bytes_transferred = tus_upload_get_position(u);
        job_stop_transfer(j);

        if (res->outcome == TRANSFER_OK) {
                f->completed = true;
                f->bytes_transferred = f->bytes_total;
                checkpoint_save_file(j, j->current);
                j->current++;
                j->last_progress_time = manager_now_realtime(j->manager);
                manager_notify_changed(j, JOB_CHANGE_PROGRESS);
                job_all_done(j);
                return;
        }
        job_fail(j, res->outcome == TRANSFER_FATAL, res->error_name, res->message, res->summary,
                 res->retry_after_usec);
}

static const TusCallbacks upload_callbacks = {
        .on_created = on_upload_created,
        .on_response = on_upload_response,
        .on_progress = on_upload_progress,
        .on_done = on_upload_done,
};

void upload_start(Job *j, JobFile *f) {
        FsDir d = job_file_dir(f);
        struct stat st;
        char msg[1024];
        int fd, r;

        assert(j);
        assert(f);

        /* Read with the owner's identity, from the directory recorded at AddFile. */
        fd = fsops_reopen_source(&j->identity, &d, f->name, &st);
        if (fd < 0) {
                snprintf(msg, sizeof msg, "Cannot open %s to upload it: %s", f->path, strerror(-fd));
                job_fail(j, true, ERROR_NAME_LOCAL_FILE, msg, strerror(-fd), 0);
                return;
        }
        if ((uint64_t) st.st_size != f->bytes_total) {
                safe_close(fd);
                snprintf(msg, sizeof msg, "%s changed size since it was added (%" PRIu64 " → %" PRIu64
                         " bytes); add it to a new job", f->path, f->bytes_total, (uint64_t) st.st_size);
                job_fail(j, true, ERROR_NAME_LOCAL_FILE, msg, "The file changed size", 0);
                return;
        }

        j->fd = fd;
        TusRequest req = {
                .creation_url = f->url,
                .upload_url = j->upload_url,
                .fd = fd,
                .size = f->bytes_total,
                .filename = f->name,
                .http = job_http_settings(j),
        };
        r = tus_upload_start(j->manager->engine, &req, &upload_callbacks, j, &j->upload);
        if (r < 0) {
                j->fd = safe_close(j->fd);
                char shown[URL_SHOWN_MAX];
                snprintf(msg, sizeof msg, "Cannot start the upload to %s: %s", url_strip(shown, sizeof shown, f->url),
                         strerror(-r));
                job_fail(j, false, ERROR_NAME_NETWORK, msg, strerror(-r), 0);
        }
}
