/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* download, upload and wait: make (or find) a job, then follow it to its end (follow.h). */

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download-plan.h"
#include "follow.h"
#include "listed-file.h"
#include "names.h"
#include "path-util.h"
#include "report.h"
#include "text.h"
#include "util.h"
#include "xferctl.h"

/* A job for a person waiting at the terminal does not queue behind background work. */
#define DEFAULT_PRIORITY "foreground"

/* Cancels a job that could not be made whole; a failure to do so is reported too. */
static void cancel_unfinished(Ctl *c, const char *id, const char *path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "Cancel", &error, NULL, "") < 0)
                report_bus_error(&error, -EIO, "cannot cancel the unfinished job %s", id);
}

/* CreateJob with the command line's priority (and cost policy, when given; and checksum list:
 * every file of the job is checked against it), then MinimumRetryDelay and BandwidthLimit if
 * asked for. */
static int create_job(Ctl *c, Follow *f, const char *name, const char *type) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *path;
        int r;

        r = ctl_create_job(c, name, type, c->priority ? c->priority : DEFAULT_PRIORITY, &reply, &id, &path);
        if (r < 0)
                return r;
        r = follow_set_job(f, id, path);
        if (r < 0)
                return r;

        if (c->retry_delay > 0)
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "MinimumRetryDelay", &error,
                                        "u", c->retry_delay);
        if (r >= 0 && c->limit_rate > 0)
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "BandwidthLimit", &error,
                                        "t", c->limit_rate);
        if (r < 0) {
                r = report_bus_error(&error, r, "cannot set up job %s", id);
                cancel_unfinished(c, id, path);
                return r;
        }
        return 0;
}

/* A checksum, size or mirror describes one file (a checksum list any number). */
static bool file_options_per_file(const FileOptions *o) {
        return o->checksum || o->has_size || o->mirrors;
}

/* AddFiles (all or nothing), or AddFileWithOptions for one file with what it must be, and
 * Resume; on failure the half-made job is cancelled. */
static int fill_and_start(Ctl *c, Follow *f) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool with_options = f->mode == FOLLOW_DOWNLOAD && file_options_per_file(&c->file);
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE,
                                           f->mode == FOLLOW_UPLOAD ? "AddFile" :
                                           with_options ? "AddFileWithOptions" : "AddFiles");
        if (r >= 0 && f->mode == FOLLOW_UPLOAD)
                r = sd_bus_message_append(m, "ss", f->files[0].url, f->files[0].local);
        else if (r >= 0 && with_options) {
                FileOptions per_file = c->file;

                /* The checksum list went with CreateJob, for the whole job. */
                per_file.checksum_list = per_file.checksum_list_signature = NULL;
                r = file_options_append_file(&per_file, m, f->files[0].url, f->files[0].local);
        } else if (r >= 0) {
                r = sd_bus_message_open_container(m, 'a', "(ss)");
                for (size_t i = 0; r >= 0 && i < f->n_files; i++)
                        r = sd_bus_message_append(m, "(ss)", f->files[i].url, f->files[i].local);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r < 0) {
                cancel_unfinished(c, f->id, f->path);
                return report_bus_error(NULL, r, "cannot build the list of files");
        }

        r = sd_bus_call(c->bus, m, 0, &error, NULL);
        if (r < 0)
                r = report_bus_error(&error, r, "cannot add the %s to job %s", f->n_files > 1 ? "files" : "file", f->id);
        else {
                r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE, "Resume", &error, NULL, "");
                if (r < 0)
                        r = report_bus_error(&error, r, "cannot start job %s", f->id);
        }
        if (r < 0 && r != -EHOSTDOWN)
                cancel_unfinished(c, f->id, f->path);
        return r;
}

/* Creates the job of f's files, starts it and follows it to its end. */
static int run_job(Ctl *c, Follow *f, const char *name) {
        int r;

        r = create_job(c, f, name, f->mode == FOLLOW_UPLOAD ? "upload" : "download");
        if (r >= 0)
                r = fill_and_start(c, f);
        if (r >= 0)
                r = follow_run(f);
        return r;
}

/* The URLs of -i FILE ("-" is standard input). */
static int read_list(const char *file, char ***urls, size_t *n) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *in;
        int r;

        in = streq(file, "-") ? stdin : fopen(file, "re");
        if (!in)
                return report_bus_error(NULL, -errno, "cannot read the list of URLs %s", file);
        r = getdelim(&text, &len, '\0', in) < 0 && ferror(in) ? -EIO : 0;
        if (in != stdin)
                fclose(in);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the list of URLs %s", file);
        r = download_list_parse(strempty(text), urls, n);
        if (r < 0)
                return report_error(r, "out of memory");
        return 0;
}

/* Existing destinations are refused before anything is asked of the daemon. */
static int check_destinations(Ctl *c, const DownloadPlan *p) {
        int r = 0;

        if (c->force)
                return 0;
        for (size_t i = 0; i < p->n; i++) {
                struct stat st;

                if (lstat(p->targets[i].local, &st) >= 0)
                        r = report_error(-EEXIST, "%s exists; --force replaces it", p->targets[i].local);
        }
        return r;
}

/* "file.iso", or "a.iso and 2 more". */
static char *display_name(const DownloadPlan *p) {
        _cleanup_free_ char *first = path_basename(p->targets[0].local);
        char *name;

        if (!first)
                return NULL;
        if (p->n == 1)
                return TAKE_PTR(first);
        return asprintf(&name, "%s and %zu more", first, p->n - 1) < 0 ? NULL : name;
}

int verb_download(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *name = NULL;
        char **list = NULL;
        size_t n_list = 0;
        DownloadPlan plan = { 0 };
        Follow f;
        int r;

        assert(c);
        assert(argv);

        if (c->input_file) {
                r = read_list(c->input_file, &list, &n_list);
                if (r < 0)
                        return r;
        }
        r = download_plan_make(argv + 1, (size_t) argc - 1, list, n_list, c->output, &plan);
        for (size_t i = 0; i < n_list; i++)
                free(list[i]);
        free(list);
        if (r < 0)
                return EXIT_USAGE;
        if (plan.n > 1 && file_options_per_file(&c->file)) {
                download_plan_done(&plan);
                fprintf(stderr, "xferctl: --checksum, --size and --mirror describe one file; give one URL "
                        "(--checksum-list works for several).\n");
                return EXIT_USAGE;
        }

        r = check_destinations(c, &plan);
        if (r >= 0) {
                name = display_name(&plan);
                if (!name)
                        r = report_error(-ENOMEM, "out of memory");
        }
        if (r >= 0)
                r = follow_init(&f, c, FOLLOW_DOWNLOAD);
        else
                f = (Follow) { .ctl = c };
        for (size_t i = 0; r >= 0 && i < plan.n; i++)
                r = follow_add_file(&f, plan.targets[i].url, plan.targets[i].local);
        download_plan_done(&plan);

        if (r >= 0)
                r = run_job(c, &f, name);
        follow_done(&f);
        return r;
}

int verb_upload(Ctl *c, int argc, char **argv) {
        _cleanup_free_ char *local = NULL, *name = NULL;
        struct stat st;
        Follow f;
        int r;

        assert(c);
        assert(argv);

        r = path_make_absolute_or_report(argv[1], &local);
        if (r < 0)
                return r;

        /* The daemon checks too, with the owner's identity; this only answers sooner. */
        if (stat(local, &st) < 0)
                return report_bus_error(NULL, -errno, "cannot upload %s", local);
        if (!S_ISREG(st.st_mode))
                return report_error(-EINVAL, "cannot upload %s: not a regular file", local);
        name = path_basename(local);
        if (!name)
                return report_error(-ENOMEM, "out of memory");

        r = follow_init(&f, c, FOLLOW_UPLOAD);
        if (r >= 0)
                r = follow_add_file(&f, argv[2], local);
        if (r >= 0)
                r = run_job(c, &f, name);
        follow_done(&f);
        return r;
}

/* The local paths of the job's files, for "file 2/3: name"; without them the line only
 * counts. */
static void wait_add_files(Ctl *c, Follow *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        ListedFile listed;
        int r;

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, f->path, XFERD_JOB_IFACE, "ListFiles", NULL, &reply, "");
        if (r >= 0)
                r = listed_file_enter(reply);
        while (r >= 0 && listed_file_next(reply, &listed) > 0)
                r = follow_add_file(f, listed.url, listed.local_path);
}

int verb_wait(Ctl *c, int argc, char **argv) {
        Follow f;
        int r;

        assert(c);
        assert(argv);

        r = follow_init(&f, c, FOLLOW_WAIT);
        if (r >= 0)
                r = follow_set_job(&f, c->job_id, c->job_path);
        if (r >= 0) {
                if (c->progress)
                        wait_add_files(c, &f);
                r = follow_run(&f);
        }
        follow_done(&f);
        return r;
}
