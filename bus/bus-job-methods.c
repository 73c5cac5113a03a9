/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"
#include "bus.h"

static int reply_call(sd_bus_message *m, int r, const CallError *e, sd_bus_error *error) {
        if (r < 0)
                return bus_error_from_call(error, r, e);
        return sd_bus_reply_method_return(m, NULL);
}

int bus_job_method_add_file(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        CallError e = { .kind = CALL_ERROR_NONE };
        const char *url, *path;
        int r;

        r = sd_bus_message_read(m, "ss", &url, &path);
        if (r < 0)
                return r;
        char *urls[] = { (char *) url, NULL }, *paths[] = { (char *) path, NULL };
        r = job_add_files(j, urls, paths, 1, &e);
        return reply_call(m, r, &e, error);
}

/* Grows a NULL-terminated array of borrowed strings by one. */
int bus_job_method_add_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_free_ char **urls = NULL, **paths = NULL;
        size_t n = 0, n_urls_allocated = 0, n_paths_allocated = 0, room = job_files_room(j);
        const char *url, *path;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        /* One entry past what the job may take is enough for the call to fail: a million
         * entries are not read. */
        while (n <= room && (r = sd_bus_message_read(m, "(ss)", &url, &path)) > 0) {
                r = array_reserve((void **) &urls, &n_urls_allocated, n + 1, sizeof(char *));
                if (r < 0)
                        return r;
                r = array_reserve((void **) &paths, &n_paths_allocated, n + 1, sizeof(char *));
                if (r < 0)
                        return r;
                /* The strings live in the message, which outlives this call. */
                urls[n] = (char *) url;
                paths[n] = (char *) path;
                n++;
        }
        if (r < 0)
                return r;

        r = job_add_files(j, urls, paths, n, &e);
        return reply_call(m, r, &e, error);
}

int bus_job_method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        int r;

        r = job_resume(userdata, &e);
        return reply_call(m, r, &e, error);
}

int bus_job_method_suspend(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        CallError e = { .kind = CALL_ERROR_NONE };
        int r;

        r = job_suspend(userdata, &e);
        return reply_call(m, r, &e, error);
}

int bus_job_method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_reply_later(m, userdata, false, error);
}

int bus_job_method_complete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return bus_reply_later(m, userdata, true, error);
}

int bus_job_method_set_http_headers(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_free_ char **headers = NULL;
        size_t n = 0, allocated = 0, max = job_max_http_headers(j);
        uint64_t bytes = 0, max_bytes = job_max_http_header_bytes(j);
        const char *h;
        int r;

        /* Read no further than one header past either limit: the call fails then, and a huge
         * array costs no long walk (sd_bus_message_read_strv() is quadratic, too). */
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while (n <= max && bytes <= max_bytes && (r = sd_bus_message_read_basic(m, 's', &h)) > 0) {
                r = array_reserve((void **) &headers, &allocated, n + 2, sizeof(char *));
                if (r < 0)
                        return r;
                headers[n++] = (char *) h;  /* lives in the message, which outlives this call */
                bytes += strlen(h);
        }
        if (r < 0)
                return r;
        if (headers)
                headers[n] = NULL;

        r = job_set_http_headers(j, headers, &e);
        return reply_call(m, r, &e, error);
}
