/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's files with what they must be: Job.AddFileWithOptions; and the files as the Job
 * lists them: ListFiles, and GetFileDetails, every file as a dictionary, so that later fields
 * need no new signature (keys that do not apply to a file, no checksum or no list, are left
 * out). */
#include <stdio.h>

#include "bus-errors.h"
#include "bus.h"
#include "listed-file.h"
#include "verify.h"

int bus_job_method_add_file_with_options(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusOptionSpec spec[_BUS_FILE_OPTION_MAX];
        _cleanup_(bus_options_done) BusOptions v = { .present = { false } };
        CallError e = { .kind = CALL_ERROR_NONE };
        JobFileOptions o;
        const char *url, *path;
        int r;

        bus_options_spec_file(spec);
        r = bus_options_read_url_path(m, spec, ELEMENTSOF(spec), &url, &path, &v, error);
        if (r < 0)
                return r;
        bus_options_get_file(&v, 0, &o);
        char *urls[] = { (char *) url, NULL }, *paths[] = { (char *) path, NULL };
        r = job_add_files_with_options(userdata, urls, paths, &o, 1, &e);
        if (r < 0)
                return bus_error_from_call(error, r, &e);
        return sd_bus_reply_method_return(m, NULL);
}


/* Where the file is while it is transferred: its directory and its hidden name. */
static char *file_temp_path(const JobFile *f) {
        char *temp;

        if (asprintf(&temp, "%s%s%s", f->dir, streq(f->dir, "/") ? "" : "/", f->temp_name) < 0)
                return NULL;
        return temp;
}

typedef int (*append_file_t)(sd_bus_message *reply, const Job *j, const JobFile *f);

typedef struct FilesAppend {
        const Job *job;
        append_file_t append;
        bool details;
} FilesAppend;

/* At least what a file's element takes in the reply: its strings, and room for the framing,
 * the keys and the numbers (a dictionary's about 700 bytes). */
static size_t file_reply_bytes(const JobFile *f, bool details) {
        size_t n = (details ? 1024 : 64) + strlen(f->url) + strlen(f->path) + strlen(f->dir) + strlen(f->temp_name);

        if (!details)
                return n;
        n += strlen(job_file_current_url(f));
        for (char **u = f->mirrors; u && *u; u++)
                n += strlen(*u) + 8;
        n += strlen(strempty(f->checksum)) + strlen(strempty(f->checksum_list)) +
             strlen(strempty(f->checksum_list_signature)) + strlen(strempty(f->checksum_list_key)) +
             strlen(strempty(f->verified_checksum));
        return n;
}

static int append_files(sd_bus_message *reply, void *userdata) {
        FilesAppend *a = userdata;
        size_t bytes = 0;
        int r;

        for (size_t i = 0; i < a->job->n_files; i++) {
                bytes += file_reply_bytes(a->job->files[i], a->details);
                if (bytes > bus_message_max())
                        return -E2BIG;
                r = a->append(reply, a->job, a->job->files[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The reply of one array, an element (of type `contents`) per file of the job. */
static int reply_files(sd_bus_message *m, const Job *j, const char *contents, append_file_t append, bool details,
                       sd_bus_error *error) {
        return bus_reply_array(m, contents, append_files, &(FilesAppend) { j, append, details }, error);
}

static int append_listed(sd_bus_message *reply, const Job *j, const JobFile *f) {
        _cleanup_free_ char *temp = file_temp_path(f);

        if (!temp)
                return -ENOMEM;
        return sd_bus_message_append(reply, LISTED_FILE_SIGNATURE, f->url, f->path, temp, f->bytes_total, f->bytes_transferred,
                                     (int) f->completed);
}

int bus_job_method_list_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        assert(m);
        assert(userdata);

        return reply_files(m, userdata, LISTED_FILE_SIGNATURE, append_listed, false, error);
}

static int append_entry_strv(sd_bus_message *reply, const char *key, char * const *l) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, (char **) l);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_verified_by(sd_bus_message *reply, unsigned mask) {
        const char *names[8];
        size_t n = 0;

        for (unsigned bit = 1; bit & _VERIFY_SOURCE_ALL; bit <<= 1)
                if (mask & bit)
                        names[n++] = verify_source_to_string((VerifySource) bit);
        names[n] = NULL;
        return append_entry_strv(reply, "verified-by", (char * const *) names);
}

static int append_file(sd_bus_message *reply, const Job *j, const JobFile *f) {
        _cleanup_free_ char *temp = file_temp_path(f);
        char * const none[] = { NULL };
        int r;

        if (!temp)
                return -ENOMEM;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}",
                                  "url", "s", f->url,
                                  "local-path", "s", f->path,
                                  "temporary-path", "s", temp,
                                  "bytes-total", "t", f->bytes_total,
                                  "bytes-transferred", "t", f->bytes_transferred,
                                  "transferred", "b", (int) f->completed);
        if (r >= 0 && j->type == JOB_DOWNLOAD) {
                r = sd_bus_message_append(reply, "{sv}", "url-in-use", "s", job_file_current_url(f));
                if (r >= 0)
                        r = append_entry_strv(reply, "mirrors", f->mirrors ? f->mirrors : none);
                if (r >= 0 && f->expect_size)
                        r = sd_bus_message_append(reply, "{sv}", "expected-size", "t", f->expected_size);
                if (r >= 0 && f->checksum)
                        r = sd_bus_message_append(reply, "{sv}{sv}", "checksum", "s", f->checksum,
                                                  "checksum-source", "s",
                                                  f->checksum_source == VERIFY_BY_CHECKSUM_LIST ? "checksum-list" :
                                                  "checksum");
                if (r >= 0 && f->checksum_list)
                        r = sd_bus_message_append(reply, "{sv}{sv}", "checksum-list", "s", f->checksum_list,
                                                  "checksum-list-signature", "s", f->checksum_list_signature);
                if (r >= 0 && f->checksum_list_key)
                        r = sd_bus_message_append(reply, "{sv}", "checksum-list-key", "s", f->checksum_list_key);
                if (r >= 0)
                        r = append_verified_by(reply, f->completed ? f->verified_by : 0);
                if (r >= 0 && f->completed && f->verified_checksum)
                        r = sd_bus_message_append(reply, "{sv}", "verified-checksum", "s", f->verified_checksum);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

int bus_job_method_get_file_details(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        assert(m);
        assert(userdata);

        return reply_files(m, userdata, "a{sv}", append_file, true, error);
}
