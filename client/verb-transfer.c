/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* download, upload and wait: start (or find) a job and follow it to its end.
 *
 * Everything after the start is driven by the event loop: job changes arrive as signals
 * (job-watch.c), Complete and Cancel are asynchronous calls, SIGINT/SIGTERM are event
 * sources. Nothing polls the daemon. */

#include <errno.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job-lookup.h"
#include "job-watch.h"
#include "names.h"
#include "path-util.h"
#include "progress.h"
#include "report.h"
#include "text.h"
#include "util.h"
#include "xferctl.h"

/* How often the bar is redrawn without news, so the rate and ETA follow a stall. This only
 * repaints the terminal; it asks the daemon nothing. */
#define TICK_USEC (1000000ULL)

typedef enum FollowMode {
        FOLLOW_DOWNLOAD,
        FOLLOW_UPLOAD,
        FOLLOW_WAIT,
} FollowMode;

typedef enum CancelReason {
        CANCEL_AFTER_ERROR,
        CANCEL_AFTER_SIGNAL,
} CancelReason;

typedef struct Follow {
        Ctl *ctl;
        FollowMode mode;
        char *id;
        char *path;             /* the job object; NULL until the job exists */
        char *url;
        char *local;            /* download destination, upload source */

        JobWatch *watch;
        Progress *progress;
        sd_event_source *tick;
        sd_bus_slot *start;     /* the Download call */
        sd_bus_slot *action;    /* Complete, Cancel or a property Set in flight */
        CancelReason cancel_reason;
        int signo;              /* the signal that interrupted us, 0 if none */
        bool done;
} Follow;

static void follow_done(Follow *f) {
        job_watch_free(f->watch);
        progress_free(f->progress);
        sd_event_source_disable_unref(f->tick);
        sd_bus_slot_unref(f->start);
        sd_bus_slot_unref(f->action);
        free(f->id);
        free(f->path);
        free(f->url);
        free(f->local);
}

static const char *follow_noun(const Follow *f) {
        return f->mode == FOLLOW_UPLOAD ? "upload" : "download";
}

static void follow_exit(Follow *f, int status) {
        if (f->progress)
                progress_clear(f->progress);
        f->done = true;
        sd_event_exit(f->ctl->event, status);
}

static int on_cancelled(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Follow *f = userdata;

        f->action = sd_bus_slot_unref(f->action);
        if (f->progress)
                progress_clear(f->progress);

        if (sd_bus_message_is_method_error(m, NULL)) {
                report_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                 "cannot cancel job %s", f->id);
                follow_exit(f, EXIT_FAILURE);
                return 0;
        }

        /* The reply comes only after the daemon has unlinked the job's temporary files. */
        if (f->cancel_reason == CANCEL_AFTER_SIGNAL) {
                if (f->mode == FOLLOW_UPLOAD)
                        fprintf(stderr, "Cancelled; the partial upload is deleted from the server.\n");
                else
                        fprintf(stderr, "Cancelled; the partial file was removed.\n");
                follow_exit(f, 128 + f->signo);
        } else {
                fprintf(stderr, "Job %s was cancelled and its temporary %s removed (--keep keeps a failed job).\n",
                        f->id, f->mode == FOLLOW_UPLOAD ? "upload" : "file");
                follow_exit(f, EXIT_FAILURE);
        }
        return 0;
}

static void start_cancel(Follow *f, CancelReason reason) {
        int r;

        f->cancel_reason = reason;
        f->action = sd_bus_slot_unref(f->action);
        r = sd_bus_call_method_async(f->ctl->bus, &f->action, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                     "Cancel", on_cancelled, f, "");
        if (r < 0) {
                report_bus_error(NULL, r, "cannot cancel job %s", f->id);
                follow_exit(f, EXIT_FAILURE);
        }
}

static void keep_note(Follow *f, const char *state) {
        report_note("job %s is kept (%s): 'xferctl resume %s' retries it, 'xferctl cancel %s' removes it",
                    f->id, state, f->id, f->id);
}

static void print_result(Follow *f) {
        if (f->mode == FOLLOW_UPLOAD) {
                _cleanup_free_ char *url = text_sanitize(f->url), *resource = NULL, *safe = NULL;

                /* The resource the server created is worth knowing (e.g. to fetch the file
                 * back). UploadUrl is never in signals (no URLs in broadcasts): ask once. The
                 * job stays readable after Complete, so this is a quick call. */
                (void) sd_bus_get_property_string(f->ctl->bus, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                                  "UploadUrl", NULL, &resource);
                if (!isempty(resource))
                        safe = text_sanitize(resource);
                printf("Uploaded %s to %s%s%s%s\n", f->local, url ? url : f->url,
                       safe ? " (" : "", strempty(safe), safe ? ")" : "");
        } else
                printf("Downloaded to %s\n", f->local);
}

static int on_completed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Follow *f = userdata;
        int partial = 0, r;

        f->action = sd_bus_slot_unref(f->action);
        if (f->progress)
                progress_clear(f->progress);

        if (sd_bus_message_is_method_error(m, NULL)) {
                report_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                 "cannot complete the %s", follow_noun(f));
                /* Same rule as for a failed transfer: clean up unless asked to keep. */
                if (f->ctl->keep) {
                        report_note("job %s is kept: fix the cause, then 'xferctl complete %s', or 'xferctl cancel %s'",
                                    f->id, f->id, f->id);
                        follow_exit(f, EXIT_FAILURE);
                } else
                        start_cancel(f, CANCEL_AFTER_ERROR);
                return 0;
        }

        r = sd_bus_message_read(m, "b", &partial);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot read the reply of Complete");
                follow_exit(f, EXIT_FAILURE);
                return 0;
        }

        print_result(f);
        if (partial) {
                /* One file per job here, so this means the daemon dropped it. */
                report_note("the job completed only partially: files not fully transferred were removed");
                follow_exit(f, EXIT_FAILURE);
                return 0;
        }
        follow_exit(f, EXIT_SUCCESS);
        return 0;
}

static void start_complete(Follow *f) {
        int r;

        r = sd_bus_call_method_async(f->ctl->bus, &f->action, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                     "Complete", on_completed, f, "");
        if (r < 0) {
                report_bus_error(NULL, r, "cannot complete job %s", f->id);
                follow_exit(f, EXIT_FAILURE);
        }
}

static int on_detached(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Follow *f = userdata;

        f->action = sd_bus_slot_unref(f->action);
        if (f->progress)
                progress_clear(f->progress);

        if (sd_bus_message_is_method_error(m, NULL))
                report_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                 "cannot make job %s complete by itself; once transferred, 'xferctl complete %s' moves it into place",
                                 f->id, f->id);
        else
                fprintf(stderr, "Job %s goes on in the background and completes by itself ('xferctl monitor %s' follows it).\n",
                        f->id, f->id);
        follow_exit(f, 128 + f->signo);
        return 0;
}

/* --keep and Ctrl-C: leave the job to the daemon. Without us nobody would call Complete, so
 * the job is switched to complete by itself. */
static void start_detach(Follow *f) {
        int r;

        r = sd_bus_call_method_async(f->ctl->bus, &f->action, XFERD_BUS_NAME, f->path,
                                     "org.freedesktop.DBus.Properties", "Set", on_detached, f,
                                     "ssv", XFERD_JOB_IFACE, "AutoComplete", "b", 1);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot update job %s", f->id);
                follow_exit(f, 128 + f->signo);
        }
}

static void on_job(JobWatch *w, const JobStatus *s, unsigned changed, const sd_bus_error *error, void *userdata) {
        Follow *f = userdata;

        if (f->done)
                return;

        if (error) {
                if (f->progress)
                        progress_clear(f->progress);
                report_bus_error(error, -sd_bus_error_get_errno(error), "lost track of job %s", f->id);
                follow_exit(f, EXIT_FAILURE);
                return;
        }

        /* Once we are completing or cancelling, the outcome is told by the reply. */
        if (f->progress && !f->action && !f->signo &&
            (changed & (JOB_FIELD_STATE | JOB_FIELD_PROGRESS | JOB_FIELD_ERROR)))
                progress_update(f->progress, s->state, s->bytes_transferred, s->bytes_total,
                                streq_ptr(s->state, "transient-error") ? s->error_message : NULL);

        /* While a Complete or Cancel is under way its reply decides; after a signal, too. */
        if (!(changed & JOB_FIELD_STATE) || f->action || f->signo)
                return;

        if (streq_ptr(s->state, "transferred")) {
                if (f->mode != FOLLOW_WAIT) {
                        start_complete(f);
                        return;
                }
                if (f->progress)
                        progress_clear(f->progress);
                printf("Job %s is transferred.\n", f->id);
                follow_exit(f, EXIT_SUCCESS);

        } else if (streq_ptr(s->state, "acknowledged")) {
                /* Someone else called Complete: the files are in place all the same. */
                if (f->progress)
                        progress_clear(f->progress);
                if (f->mode == FOLLOW_WAIT)
                        printf("Job %s is acknowledged.\n", f->id);
                else
                        print_result(f);
                follow_exit(f, EXIT_SUCCESS);

        } else if (streq_ptr(s->state, "cancelled")) {
                if (f->progress)
                        progress_clear(f->progress);
                report_error(-ECANCELED, "job %s was cancelled", f->id);
                follow_exit(f, EXIT_FAILURE);

        } else if (streq_ptr(s->state, "error")) {
                const char *why = !isempty(s->error_message) ? s->error_message : s->error_name;

                if (f->progress)
                        progress_clear(f->progress);
                if (f->mode == FOLLOW_WAIT) {
                        report_reason(-EIO, why, "job %s failed", f->id);
                        follow_exit(f, EXIT_FAILURE);
                        return;
                }
                report_reason(-EIO, why, "%s failed", follow_noun(f));
                if (f->ctl->keep) {
                        keep_note(f, "error");
                        follow_exit(f, EXIT_FAILURE);
                } else
                        start_cancel(f, CANCEL_AFTER_ERROR);
        }
        /* queued, connecting, transferring, transient-error (retried by the daemon) and
         * suspended (someone may resume it) are waited out. */
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Follow *f = userdata;

        /* A second Ctrl-C while the Cancel runs changes nothing: its reply comes promptly. */
        if (f->done || f->signo)
                return 0;
        f->signo = (int) si->ssi_signo;

        if (f->mode == FOLLOW_WAIT) {
                /* wait only watches; the job is not ours to cancel. */
                follow_exit(f, 128 + f->signo);
                return 0;
        }
        if (!f->path)
                return 0;       /* the job does not exist yet: acted on when Download replies */
        if (f->action) {
                /* A Complete is moving the file into place; cancelling now would only race
                 * it. Its reply ends the program. */
                f->signo = 0;
                return 0;
        }
        if (f->ctl->keep)
                start_detach(f);
        else
                start_cancel(f, CANCEL_AFTER_SIGNAL);
        return 0;
}

static int on_tick(sd_event_source *source, uint64_t usec, void *userdata) {
        Follow *f = userdata;

        progress_tick(f->progress);
        (void) sd_event_source_set_time(source, usec + TICK_USEC);
        return sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
}

/* Signals first, so that a Ctrl-C at any point after this reaches our handler. */
static int follow_prepare(Follow *f) {
        return ctl_handle_signals(f->ctl, on_signal, f);
}

/* Called once the job exists: follow it until the loop ends; returns the exit status. */
static int follow_start(Follow *f) {
        int r;

        if (f->signo) {
                /* Interrupted before the job existed. */
                if (f->ctl->keep)
                        start_detach(f);
                else
                        start_cancel(f, CANCEL_AFTER_SIGNAL);
                return 0;
        }

        if (f->ctl->progress) {
                bool tty = isatty(STDERR_FILENO);
                uint64_t now;

                f->progress = progress_new(stderr, tty);
                if (!f->progress)
                        return report_error(-ENOMEM, "out of memory");
                if (tty) {
                        r = sd_event_now(f->ctl->event, CLOCK_MONOTONIC, &now);
                        if (r >= 0)
                                r = sd_event_add_time(f->ctl->event, &f->tick, CLOCK_MONOTONIC,
                                                      now + TICK_USEC, 0, on_tick, f);
                        if (r < 0)
                                return report_bus_error(NULL, r, "cannot set up a timer");
                }
        }

        r = job_watch_new(&f->watch, f->ctl->bus, f->path, on_job, f);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot watch job %s", f->id);
        return 0;
}

static int follow_loop(Follow *f) {
        int r = sd_event_loop(f->ctl->event);

        if (r < 0)
                return report_bus_error(NULL, r, "event loop failed");
        return r;
}

static int set_job(Follow *f, const char *id, const char *path) {
        f->id = strdup(id);
        f->path = strdup(path);
        if (!f->id || !f->path)
                return -ENOMEM;
        return 0;
}

static int on_download_started(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Follow *f = userdata;
        const char *id, *path;
        int r;

        f->start = sd_bus_slot_unref(f->start);

        if (sd_bus_message_is_method_error(m, NULL)) {
                report_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                 "cannot start the download");
                follow_exit(f, EXIT_FAILURE);
                return 0;
        }

        r = sd_bus_message_read(m, "so", &id, &path);
        if (r >= 0)
                r = set_job(f, id, path);
        if (r >= 0)
                r = follow_start(f);
        if (r < 0) {
                report_bus_error(NULL, r, "cannot follow the download");
                /* The job exists but we cannot follow it; leave nothing behind. */
                if (f->path && !f->ctl->keep)
                        start_cancel(f, CANCEL_AFTER_ERROR);
                else
                        follow_exit(f, EXIT_FAILURE);
        }
        return 0;
}

/* Runs a prepared follow unless `r` says an earlier step failed, and frees it either way. */
static int follow_run(Follow *f, int r) {
        if (r >= 0)
                r = follow_start(f);
        if (r >= 0)
                r = follow_loop(f);
        follow_done(f);
        return r;
}

/* Manager.Download with auto-complete off and the file's options. */
static int download_message(Ctl *c, const char *url, const char *target, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                           "Download");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", url, target);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "auto-complete", "b", 0);
        if (r >= 0)
                r = file_options_append(&c->file, m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int verb_download(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_free_ char *target = NULL;
        Follow f = { .ctl = c, .mode = FOLLOW_DOWNLOAD };
        int r;

        assert(c);
        assert(argv);

        r = path_download_target(argv[1], argv[2], &target);
        if (r < 0)
                return r;

        f.url = strdup(argv[1]);
        f.local = strdup(target);
        if (!f.url || !f.local) {
                follow_done(&f);
                return report_error(-ENOMEM, "out of memory");
        }

        r = follow_prepare(&f);
        if (r < 0) {
                follow_done(&f);
                return r;
        }

        /* auto-complete off: xferctl calls Complete itself, so it can report where the file
         * went or why it could not be moved there. Asynchronous, so a Ctrl-C during the call
         * is seen and the new job cancelled. */
        r = download_message(c, argv[1], target, &call);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, &f.start, call, on_download_started, &f, 0);
        if (r < 0) {
                follow_done(&f);
                return report_bus_error(NULL, r, "cannot start the download");
        }

        r = follow_loop(&f);
        follow_done(&f);
        return r;
}

/* CreateJob + AddFile + Resume; on failure the half-made job is cancelled. */
static int upload_create(Ctl *c, Follow *f, const char *file, const char *url) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *name = NULL;
        const char *id, *path;
        int r;

        name = path_basename(file);
        if (!name)
                return report_error(-ENOMEM, "out of memory");

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                               "CreateJob", &error, &reply, "sa{sv}", name, 1, "type", "s", "upload");
        if (r < 0)
                return report_bus_error(&error, r, "cannot create an upload job");

        r = sd_bus_message_read(reply, "so", &id, &path);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of CreateJob");
        r = set_job(f, id, path);
        if (r < 0)
                return report_error(r, "out of memory");

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "AddFile", &error, NULL,
                               "ss", url, file);
        if (r < 0)
                report_bus_error(&error, r, "cannot add %s to the upload job", file);
        else {
                r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "Resume", &error, NULL, "");
                if (r < 0)
                        report_bus_error(&error, r, "cannot start the upload");
        }
        if (r < 0) {
                sd_bus_error_free(&error);
                if (sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "Cancel", &error, NULL, "") < 0)
                        report_bus_error(&error, -EIO, "cannot cancel the unfinished upload job %s", f->id);
                return r;
        }
        return 0;
}

int verb_upload(Ctl *c, int argc, char **argv) {
        Follow f = { .ctl = c, .mode = FOLLOW_UPLOAD };
        struct stat st;
        int r;

        assert(c);
        assert(argv);

        r = path_make_absolute(argv[1], &f.local);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot make \"%s\" an absolute path", argv[1]);
        f.url = strdup(argv[2]);
        if (!f.url) {
                follow_done(&f);
                return report_error(-ENOMEM, "out of memory");
        }

        /* The daemon checks too, with the owner's identity; this only answers sooner. */
        if (stat(f.local, &st) < 0)
                r = report_bus_error(NULL, -errno, "cannot upload %s", f.local);
        else if (!S_ISREG(st.st_mode))
                r = report_error(-EINVAL, "cannot upload %s: not a regular file", f.local);
        if (r < 0) {
                follow_done(&f);
                return r;
        }

        r = follow_prepare(&f);
        if (r >= 0)
                r = upload_create(c, &f, f.local, argv[2]);
        return follow_run(&f, r);
}

int verb_wait(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *id = NULL, *path = NULL;
        Follow f = { .ctl = c, .mode = FOLLOW_WAIT };
        int r;

        assert(c);
        assert(argv);

        r = job_lookup(c->bus, argv[1], &id, &path);
        if (r < 0)
                return r;

        r = follow_prepare(&f);
        if (r >= 0) {
                r = set_job(&f, id, path);
                if (r < 0)
                        report_error(r, "out of memory");
        }
        return follow_run(&f, r);
}
