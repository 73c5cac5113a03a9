/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"
#include "format.h"
#include "job-json.h"
#include "json.h"
#include "names.h"
#include "report.h"
#include "text.h"
#include "util.h"

/* How often the line is redrawn without news, so the rate, the ETA and a retry countdown
 * follow the clock. This only repaints the terminal; it asks the daemon nothing. */
#define TICK_USEC (1000000ULL)

static const struct {
        const char *name;
        int status;
} outcomes[_OUTCOME_MAX] = {
        [OUTCOME_NONE]            = { "none",            EXIT_FAILURE },
        [OUTCOME_COMPLETED]       = { "completed",       EXIT_SUCCESS },
        [OUTCOME_TRANSFERRED]     = { "transferred",     EXIT_SUCCESS },
        [OUTCOME_ACKNOWLEDGED]    = { "acknowledged",    EXIT_SUCCESS },
        [OUTCOME_PARTIAL]         = { "partial",         EXIT_FAILURE },
        [OUTCOME_FAILED]          = { "failed",          EXIT_TRANSFER },
        [OUTCOME_INTEGRITY]       = { "integrity",       EXIT_INTEGRITY },
        [OUTCOME_CANCELLED]       = { "cancelled",       EXIT_TRANSFER },
        [OUTCOME_COMPLETE_FAILED] = { "complete-failed", EXIT_FAILURE },
        [OUTCOME_REFUSED]         = { "refused",         EXIT_FAILURE },
        [OUTCOME_TIMEOUT]         = { "timeout",         EXIT_TIMEOUT },
        [OUTCOME_RETRIES]         = { "retries",         EXIT_RETRIES },
        [OUTCOME_INTERRUPTED]     = { "interrupted",     EXIT_SIGNAL_BASE },
        [OUTCOME_LOST]            = { "lost",            EXIT_FAILURE },
};

static const char *follow_noun(const Follow *f) {
        return f->mode == FOLLOW_UPLOAD ? "upload" : "download";
}

static const JobStatus *follow_status(const Follow *f) {
        static const JobStatus none = JOB_STATUS_INIT;

        return f->watch ? job_watch_status(f->watch) : &none;
}

static void print_json(Follow *f) {
        _cleanup_(json_writer_freep) JsonWriter *w = json_writer_new(stdout, true);
        const JobStatus *s = follow_status(f);

        if (!w)
                return;
        json_begin_object(w);
        json_member_string(w, "Id", f->id);
        json_member_string(w, "Path", f->path);
        json_member_string(w, "Result", outcomes[f->outcome].name);
        json_member_string(w, "State", s->state);
        if (job_state_has_error(s->state)) {
                json_member_string(w, "ErrorName", s->error_name);
                json_member_string(w, "ErrorMessage", s->error_message);
        }
        json_member_uint(w, "ErrorCount", s->error_count);
        json_member_uint(w, "BytesTransferred", s->bytes_transferred);
        job_json_member_bytes_total(w, s->bytes_total);
        if (f->mode != FOLLOW_WAIT) {
                json_member_bool(w, "Partial", f->partial);
                json_key(w, "Files");
                json_begin_array(w);
                for (size_t i = 0; i < f->n_files; i++) {
                        json_begin_object(w);
                        json_member_string(w, "Url", f->files[i].url);
                        json_member_string(w, "LocalPath", f->files[i].local);
                        json_end_object(w);
                }
                json_end_array(w);
        }
        json_end_object(w);
        if (json_writer_finish(w) < 0)
                report_error(-EIO, "cannot write JSON");
}

/* The end: the exit status follows from the outcome. */
static void follow_finish(Follow *f, Outcome outcome) {
        if (f->done)
                return;
        if (outcome != OUTCOME_NONE)
                f->outcome = outcome;
        if (f->progress)
                progress_clear(f->progress);
        f->status = outcomes[f->outcome].status;
        if (f->outcome == OUTCOME_INTERRUPTED)
                f->status += f->signo;
        if (f->ctl->json && f->path)
                print_json(f);
        f->done = true;
        sd_event_exit(f->ctl->event, f->status);
}

/* A failure that is not an outcome of the job: a call that could not be made, the job or
 * the daemon gone. r is what report_bus_error() returned. */
static void follow_fail(Follow *f, int r) {
        follow_finish(f, OUTCOME_LOST);
        if (r == -EHOSTDOWN)
                f->status = EXIT_UNREACHABLE;
}

static int on_cancelled(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Follow *f = userdata;
        const char *what = f->mode == FOLLOW_UPLOAD ? "the partial upload is deleted from the server"
                                                    : f->n_files > 1 ? "the partial files were removed"
                                                                     : "the partial file was removed";

        f->action = sd_bus_slot_unref(f->action);
        if (f->progress)
                progress_clear(f->progress);

        if (sd_bus_message_is_method_error(m, NULL)) {
                follow_fail(f, report_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                                "cannot cancel job %s", f->id));
                return 0;
        }

        /* The reply comes only after the daemon has unlinked the job's temporary files. */
        if (f->outcome == OUTCOME_INTERRUPTED)
                fprintf(stderr, "Cancelled; %s.\n", what);
        else
                fprintf(stderr, "Job %s was cancelled: %s (--keep keeps it).\n", f->id, what);
        follow_finish(f, OUTCOME_NONE);
        return 0;
}

static void start_cancel(Follow *f) {
        int r;

        f->action = sd_bus_slot_unref(f->action);
        r = sd_bus_call_method_async(f->ctl->bus, &f->action, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                     "Cancel", on_cancelled, f, "");
        if (r < 0)
                follow_fail(f, report_bus_error(NULL, r, "cannot cancel job %s", f->id));
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
        follow_finish(f, OUTCOME_NONE);
        return 0;
}

/* --keep: leave the job to the daemon. Without us nobody would call Complete, so the job is
 * switched to complete by itself. */
static void start_detach(Follow *f) {
        int r;

        f->action = sd_bus_slot_unref(f->action);
        r = sd_bus_call_method_async(f->ctl->bus, &f->action, XFERD_BUS_NAME, f->path,
                                     "org.freedesktop.DBus.Properties", "Set", on_detached, f,
                                     "ssv", XFERD_JOB_IFACE, "AutoComplete", "b", 1);
        if (r < 0)
                follow_fail(f, report_bus_error(NULL, r, "cannot update job %s", f->id));
}

/* Ends the wait without the job's success: wait only stops watching; download and upload
 * cancel the job (nothing is left), or with --keep leave it (a job in error as it is, a
 * running one set to complete by itself). */
static void give_up(Follow *f, Outcome outcome) {
        f->outcome = outcome;
        if (f->progress)
                progress_clear(f->progress);
        if (f->mode == FOLLOW_WAIT || !f->path) {
                follow_finish(f, outcome);
                return;
        }
        if (!f->ctl->keep) {
                start_cancel(f);
                return;
        }
        if (outcome == OUTCOME_FAILED || outcome == OUTCOME_INTEGRITY || outcome == OUTCOME_REFUSED) {
                report_note("job %s is kept: 'xferctl resume %s' retries it, 'xferctl cancel %s' removes it",
                            f->id, f->id, f->id);
                follow_finish(f, outcome);
                return;
        }
        start_detach(f);
}

static void print_result(Follow *f) {
        if (f->ctl->json)
                return;
        if (f->mode == FOLLOW_UPLOAD) {
                _cleanup_free_ char *url = text_sanitize(f->files[0].url), *resource = NULL, *safe = NULL;

                /* The resource the server created is worth knowing (e.g. to fetch the file
                 * back). UploadUrl is never in signals (no URLs in broadcasts): ask once. The
                 * job stays readable after Complete, so this is a quick call. */
                (void) sd_bus_get_property_string(f->ctl->bus, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                                  "UploadUrl", NULL, &resource);
                if (!isempty(resource))
                        safe = text_sanitize(resource);
                printf("Uploaded %s to %s%s%s%s\n", f->files[0].local, url ? url : f->files[0].url,
                       safe ? " (" : "", strempty(safe), safe ? ")" : "");
                return;
        }
        for (size_t i = 0; i < f->n_files; i++) {
                struct stat st;

                /* With --partial-like outcomes only the files that made it are there. */
                if (f->partial && lstat(f->files[i].local, &st) < 0)
                        continue;
                printf("Downloaded to %s\n", f->files[i].local);
        }
}

static int on_completed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Follow *f = userdata;
        int partial = 0, r;

        f->action = sd_bus_slot_unref(f->action);
        if (f->progress)
                progress_clear(f->progress);

        if (sd_bus_message_is_method_error(m, NULL)) {
                r = report_bus_error(sd_bus_message_get_error(m), -sd_bus_message_get_errno(m),
                                     "cannot complete the %s", follow_noun(f));
                if (r == -EHOSTDOWN) {
                        follow_fail(f, r);
                        return 0;
                }
                if (f->ctl->keep) {
                        report_note("job %s is kept: fix the cause, then 'xferctl complete %s', or 'xferctl cancel %s'",
                                    f->id, f->id, f->id);
                        follow_finish(f, OUTCOME_COMPLETE_FAILED);
                } else
                        give_up(f, OUTCOME_COMPLETE_FAILED);
                return 0;
        }

        r = sd_bus_message_read(m, "b", &partial);
        if (r < 0) {
                follow_fail(f, report_bus_error(NULL, r, "cannot read the reply of Complete"));
                return 0;
        }
        f->partial = partial;
        print_result(f);
        if (partial) {
                /* Only after the job was transferred, so someone changed it meanwhile. */
                report_note("the job completed only partially: files not fully transferred were removed");
                follow_finish(f, OUTCOME_PARTIAL);
                return 0;
        }
        follow_finish(f, OUTCOME_COMPLETED);
        return 0;
}

/* A destination that appeared while the download ran is not replaced without --force. */
static bool destination_appeared(Follow *f) {
        struct stat st;
        bool found = false;

        if (f->mode != FOLLOW_DOWNLOAD || f->ctl->force)
                return false;
        for (size_t i = 0; i < f->n_files; i++)
                if (lstat(f->files[i].local, &st) >= 0) {
                        report_error(-EEXIST, "%s appeared while downloading and is not replaced (--force replaces it)",
                                     f->files[i].local);
                        found = true;
                }
        return found;
}

static void start_complete(Follow *f) {
        int r;

        if (destination_appeared(f)) {
                give_up(f, OUTCOME_REFUSED);
                return;
        }
        r = sd_bus_call_method_async(f->ctl->bus, &f->action, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                     "Complete", on_completed, f, "");
        if (r < 0)
                follow_fail(f, report_bus_error(NULL, r, "cannot complete job %s", f->id));
}

/* Before a message: the progress line goes, it would run into the text. */
static void clear_line(Follow *f) {
        if (f->progress)
                progress_clear(f->progress);
}

static void on_state(Follow *f, const JobStatus *s) {
        const char *why = !isempty(s->error_message) ? s->error_message : s->error_name;

        if (streq_ptr(s->state, "transferred") || streq_ptr(s->state, "acknowledged") ||
            streq_ptr(s->state, "cancelled") || streq_ptr(s->state, "error"))
                clear_line(f);

        if (streq_ptr(s->state, "transferred")) {
                if (f->mode != FOLLOW_WAIT) {
                        start_complete(f);
                        return;
                }
                if (!f->ctl->json)
                        printf("Job %s is transferred.\n", f->id);
                follow_finish(f, OUTCOME_TRANSFERRED);

        } else if (streq_ptr(s->state, "acknowledged")) {
                /* Someone else called Complete: the files are in place all the same. */
                if (f->mode == FOLLOW_WAIT) {
                        if (!f->ctl->json)
                                printf("Job %s is acknowledged.\n", f->id);
                } else
                        print_result(f);
                follow_finish(f, OUTCOME_ACKNOWLEDGED);

        } else if (streq_ptr(s->state, "cancelled")) {
                report_error(-ECANCELED, "job %s was cancelled", f->id);
                follow_finish(f, OUTCOME_CANCELLED);

        } else if (streq_ptr(s->state, "error")) {
                if (f->mode == FOLLOW_WAIT)
                        report_reason(-EIO, why, "job %s failed", f->id);
                else
                        report_reason(-EIO, why, "%s failed", follow_noun(f));
                /* A file that did not check out is a failure of its own (exit status 5). */
                give_up(f, streq_ptr(s->error_name, XFERD_ERROR_PREFIX "Integrity") ? OUTCOME_INTEGRITY
                                                                                     : OUTCOME_FAILED);

        } else if (streq_ptr(s->state, "transient-error") && f->ctl->retries >= 0 &&
                   f->mode != FOLLOW_WAIT && s->error_count > (uint64_t) f->ctl->retries) {
                clear_line(f);
                report_reason(-EIO, why, "gave up after %u failed attempt%s (--retries %lld)",
                              (unsigned) s->error_count, s->error_count == 1 ? "" : "s",
                              (long long) f->ctl->retries);
                give_up(f, OUTCOME_RETRIES);
        }
        /* queued, connecting, transferring, transient-error (retried by the daemon) and
         * suspended (someone may resume it) are waited out. */
}

static void on_job(JobWatch *w, const JobStatus *s, unsigned changed, const sd_bus_error *error, void *userdata) {
        Follow *f = userdata;

        if (f->done)
                return;

        if (error) {
                if (f->progress)
                        progress_clear(f->progress);
                follow_fail(f, report_bus_error(error, -sd_bus_error_get_errno(error), "lost track of job %s", f->id));
                return;
        }

        /* Once we are completing or cancelling, the outcome is told by the reply. */
        if (f->action || f->outcome != OUTCOME_NONE)
                return;
        if (f->progress && (changed & JOB_FIELDS_KNOWN))
                progress_update(f->progress, s);
        if (changed & (JOB_FIELD_STATE | JOB_FIELD_ERROR))
                on_state(f, s);
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Follow *f = userdata;

        /* A second Ctrl-C while the Cancel runs changes nothing: its reply comes promptly. A
         * Complete moving the files into place is not raced either: its reply ends us. */
        if (f->done || f->action || f->outcome != OUTCOME_NONE)
                return 0;
        f->signo = (int) si->ssi_signo;
        give_up(f, OUTCOME_INTERRUPTED);
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Follow *f = userdata;
        char d[FORMAT_DURATION_MAX];

        if (f->done || f->action || f->outcome != OUTCOME_NONE)
                return 0;
        if (f->progress)
                progress_clear(f->progress);
        report_error(-ETIMEDOUT, "gave up: --timeout %s ran out (job %s is %s)",
                     format_duration(d, f->ctl->timeout_usec / 1000000ULL), f->id,
                     strempty(follow_status(f)->state));
        give_up(f, OUTCOME_TIMEOUT);
        return 0;
}

static int on_tick(sd_event_source *source, uint64_t usec, void *userdata) {
        Follow *f = userdata;

        progress_tick(f->progress);
        (void) sd_event_source_set_time(source, usec + TICK_USEC);
        return sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
}

int follow_init(Follow *f, Ctl *c, FollowMode mode) {
        uint64_t now;
        int r;

        assert(f);
        assert(c);
        *f = (Follow) { .ctl = c, .mode = mode };

        /* Signals first, so that a Ctrl-C at any point after this reaches our handler (it
         * stays pending while the job is being made, and cancels it once it exists). */
        r = ctl_handle_signals(c, on_signal, f);
        if (r < 0)
                return r;
        if (c->timeout_usec > 0) {
                r = sd_event_now(c->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_add_time(c->event, &f->timeout, CLOCK_MONOTONIC, now + c->timeout_usec, 0,
                                              on_timeout, f);
                if (r < 0)
                        return report_bus_error(NULL, r, "cannot set up a timer");
        }
        return 0;
}

void follow_done(Follow *f) {
        job_watch_free(f->watch);
        progress_free(f->progress);
        sd_event_source_disable_unref(f->tick);
        sd_event_source_disable_unref(f->timeout);
        sd_bus_slot_unref(f->action);
        for (size_t i = 0; i < f->n_files; i++) {
                free(f->files[i].url);
                free(f->files[i].local);
        }
        free(f->files);
        free(f->names);
        free(f->id);
        free(f->path);
}

int follow_set_job(Follow *f, const char *id, const char *path) {
        assert(f);
        if (free_and_strdup(&f->id, id) < 0 || free_and_strdup(&f->path, path) < 0)
                return report_error(-ENOMEM, "out of memory");
        return 0;
}

int follow_add_file(Follow *f, const char *url, const char *local) {
        FollowFile *files;
        char **names;

        assert(f);
        if (array_reserve((void **) &f->files, &f->n_files_allocated, f->n_files + 1, sizeof *files) < 0 ||
            array_reserve((void **) &f->names, &f->n_names_allocated, f->n_files + 1, sizeof *names) < 0)
                return report_error(-ENOMEM, "out of memory");
        files = f->files;
        names = f->names;
        files[f->n_files] = (FollowFile) { strdup(url), strdup(local) };
        names[f->n_files] = files[f->n_files].local;
        f->n_files++;
        if (!files[f->n_files - 1].url || !files[f->n_files - 1].local)
                return report_error(-ENOMEM, "out of memory");
        return 0;
}

static int progress_start(Follow *f) {
        WaitContext ctx = { .id = f->id };
        bool tty = isatty(STDERR_FILENO);
        uint64_t now;
        int r;

        f->progress = progress_new(stderr, tty);
        if (!f->progress)
                return report_error(-ENOMEM, "out of memory");
        /* For "waiting: 4 transfers running (MaxBackgroundTransfers=4)"; optional. */
        (void) sd_bus_get_property_trivial(f->ctl->bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                           "MaxBackgroundTransfers", NULL, 'u', &ctx.max_transfers);
        if (progress_set_context(f->progress, &ctx) < 0)
                return report_error(-ENOMEM, "out of memory");
        progress_set_files(f->progress, f->names, f->n_files);
        if (!tty)
                return 0;

        r = sd_event_now(f->ctl->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(f->ctl->event, &f->tick, CLOCK_MONOTONIC, now + TICK_USEC, 0, on_tick, f);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot set up a timer");
        return 0;
}

int follow_run(Follow *f) {
        int r;

        assert(f);
        assert(f->path);

        if (f->ctl->progress) {
                r = progress_start(f);
                if (r < 0)
                        return r;
        }
        r = job_watch_new(&f->watch, f->ctl->bus, f->path, on_job, f);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot watch job %s", f->id);

        r = sd_event_loop(f->ctl->event);
        if (r < 0)
                return report_bus_error(NULL, r, "event loop failed");
        return f->status;
}
