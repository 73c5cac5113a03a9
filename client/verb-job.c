/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs that change jobs with one call each: create, add, resume, suspend, cancel,
 * complete, set. With --json each prints what it did. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "format.h"
#include "job-lookup.h"
#include "job-status.h"
#include "json.h"
#include "names.h"
#include "parse.h"
#include "path-util.h"
#include "report.h"
#include "util.h"
#include "xferctl.h"

/* {"Id": …, "Path": …} and more members from the caller. */
static JsonWriter *json_job_begin(const char *id, const char *path) {
        JsonWriter *w = json_writer_new(stdout, true);

        if (!w)
                return NULL;
        json_begin_object(w);
        json_member_string(w, "Id", id);
        json_member_string(w, "Path", path);
        return w;
}

static int json_job_end(JsonWriter *w) {
        int r;

        json_end_object(w);
        r = json_writer_finish(w);
        json_writer_free(w);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot write JSON");
        return 0;
}

int ctl_create_job(Ctl *c, const char *name, const char *type, const char *priority, sd_bus_message **ret_reply,
                   const char **ret_id, const char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        assert(c);
        assert(name);
        assert(ret_reply);
        assert(ret_id);
        assert(ret_path);

        r = sd_bus_message_new_method_call(c->bus, &m, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                           "CreateJob");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        /* Only what was chosen: the daemon's defaults for the rest. */
        if (r >= 0 && type)
                r = sd_bus_message_append(m, "{sv}", "type", "s", type);
        if (r >= 0 && priority)
                r = sd_bus_message_append(m, "{sv}", "priority", "s", priority);
        if (r >= 0 && c->cost_policy)
                r = sd_bus_message_append(m, "{sv}", "cost-policy", "s", c->cost_policy);
        if (r >= 0 && c->concurrent_files > 0)
                r = sd_bus_message_append(m, "{sv}", "max-concurrent-files", "u", c->concurrent_files);
        if (r >= 0 && c->file.checksum_list)
                r = sd_bus_message_append(m, "{sv}", "checksum-list", "s", c->file.checksum_list);
        if (r >= 0 && c->file.checksum_list_signature)
                r = sd_bus_message_append(m, "{sv}", "checksum-list-signature", "s", c->file.checksum_list_signature);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot build the CreateJob call");
        r = sd_bus_call(c->bus, m, 0, &error, &reply);
        if (r < 0)
                return type ? report_bus_error(&error, r, "cannot create the %s job \"%s\"", type, name)
                            : report_bus_error(&error, r, "cannot create job \"%s\"", name);
        r = sd_bus_message_read(reply, "so", ret_id, ret_path);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of CreateJob");
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

int verb_create(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *path;
        int r;

        assert(c);
        assert(argv);

        r = ctl_create_job(c, argv[1], NULL, c->priority, &reply, &id, &path);
        if (r < 0)
                return r;

        if (c->json) {
                JsonWriter *w = json_job_begin(id, path);

                if (!w)
                        return report_error(-ENOMEM, "out of memory");
                return json_job_end(w);
        }
        /* Only the id, so that scripts can write JOB=$(xferctl create NAME). */
        printf("%s\n", id);
        return 0;
}

int verb_add(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *target = NULL;
        int r;

        assert(c);
        assert(argv);

        r = path_download_target(argv[2], argv[3], &target);
        if (r < 0)
                return r;

        /* What the file must be, if anything: AddFileWithOptions. */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool with_options = file_options_any(&c->file);
        r = sd_bus_message_new_method_call(c->bus, &m, XFERD_BUS_NAME, c->job_path, XFERD_JOB_IFACE,
                                           with_options ? "AddFileWithOptions" : "AddFile");
        if (r >= 0)
                r = with_options ? file_options_append_file(&c->file, m, argv[2], target)
                                 : sd_bus_message_append(m, "ss", argv[2], target);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot build the call");
        r = sd_bus_call(c->bus, m, 0, &error, NULL);
        if (r < 0)
                return report_bus_error(&error, r, "cannot add %s to job %s", target, c->job_id);

        if (c->json) {
                JsonWriter *w = json_job_begin(c->job_id, c->job_path);

                if (!w)
                        return report_error(-ENOMEM, "out of memory");
                json_member_string(w, "Url", argv[2]);
                json_member_string(w, "LocalPath", target);
                return json_job_end(w);
        }
        return 0;
}

/* What became of one JOB argument, for --json. */
typedef struct MethodResult {
        const char *arg;
        char *id;
        char *path;
        bool partial;
        char *error;            /* NULL on success */
} MethodResult;

static void json_results(JsonWriter *w, const MethodResult *results, size_t n, bool complete) {
        json_begin_array(w);
        for (size_t i = 0; i < n; i++) {
                json_begin_object(w);
                json_member_string(w, "Job", results[i].arg);
                json_member_string(w, "Id", results[i].id);
                json_member_string(w, "Path", results[i].path);
                if (complete) {
                        json_member_bool(w, "Partial", results[i].partial);
                }
                json_member_string(w, "Error", results[i].error);
                json_end_object(w);
        }
        json_end_array(w);
}

/* A job that is not fully transferred loses data on Complete: refuse it unless --partial.
 * Returns 1 when it may be completed, 0 when refused (and said why), or a negative errno. */
static int complete_allowed(Ctl *c, const char *id, const char *path, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(job_status_done) JobStatus s = JOB_STATUS_INIT;
        char pct[16] = "";
        int r;

        if (c->partial)
                return 1;
        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", XFERD_JOB_IFACE);
        if (r < 0)
                return report_bus_error(&error, r, "cannot read job %s", id);
        r = job_status_read_dict(&s, reply, NULL);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the properties of job %s", id);
        if (s.files_transferred >= s.files_total)
                return 1;

        if (s.bytes_total != UINT64_MAX)
                snprintf(pct, sizeof pct, ", %u%%", format_percent(s.bytes_transferred, s.bytes_total));
        report_error(-EBUSY, "job %s is not fully transferred (%s, %u of %u files%s): 'xferctl wait %s' waits for it; "
                     "--partial completes it anyway and deletes the files not transferred",
                     id, strempty(s.state), (unsigned) s.files_transferred, (unsigned) s.files_total, pct, id);
        if (asprintf(ret_error, "not fully transferred (%u of %u files)", (unsigned) s.files_transferred,
                     (unsigned) s.files_total) < 0)
                *ret_error = NULL;
        return 0;
}

/* resume, suspend, cancel, complete: the D-Bus method is the verb with a capital. Every JOB
 * is tried; the exit status says whether all succeeded. */
static int job_methods(Ctl *c, int argc, char **argv, bool complete) {
        _cleanup_free_ MethodResult *results = calloc((size_t) argc, sizeof *results);
        const char *verb = argv[0];
        char method[16];
        int ret = 0;

        if (!results)
                return report_error(-ENOMEM, "out of memory");
        snprintf(method, sizeof method, "%s", verb);
        method[0] = (char) toupper((unsigned char) method[0]);

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                MethodResult *res = &results[i - 1];
                int r, partial;

                res->arg = argv[i];
                r = job_lookup(c->bus, argv[i], &res->id, &res->path);
                if (r < 0) {
                        ret = r;
                        res->error = strdup("no single job matches");
                        continue;
                }

                if (complete) {
                        r = complete_allowed(c, res->id, res->path, &res->error);
                        if (r <= 0) {
                                ret = r < 0 ? r : -EBUSY;
                                continue;
                        }
                }

                r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, res->path, XFERD_JOB_IFACE, method,
                                       &error, &reply, "");
                if (r < 0) {
                        ret = report_bus_error(&error, r, "cannot %s job %s", verb, res->id);
                        res->error = strdup(bus_error_text(&error, r));
                        continue;
                }
                if (!complete)
                        continue;

                r = sd_bus_message_read(reply, "b", &partial);
                if (r < 0) {
                        ret = report_bus_error(NULL, r, "cannot read the reply of Complete");
                        continue;
                }
                res->partial = partial;
                if (partial) {
                        /* BITS' BG_S_PARTIAL_COMPLETE: done, but data was lost; say so and fail. */
                        report_note("job %s completed partially: files not fully transferred were removed", res->id);
                        ret = -EBUSY;
                }
        }

        if (c->json) {
                _cleanup_(json_writer_freep) JsonWriter *w = json_writer_new(stdout, true);

                if (!w)
                        ret = report_error(-ENOMEM, "out of memory");
                else {
                        json_results(w, results, (size_t) argc - 1, complete);
                        if (json_writer_finish(w) < 0)
                                ret = report_error(-EIO, "cannot write JSON");
                }
        }
        for (int i = 0; i < argc - 1; i++) {
                free(results[i].id);
                free(results[i].path);
                free(results[i].error);
        }
        return ret;
}

int verb_job_method(Ctl *c, int argc, char **argv) {
        assert(c);
        assert(argv);

        return job_methods(c, argc, argv, false);
}

int verb_complete(Ctl *c, int argc, char **argv) {
        assert(c);
        assert(argv);

        return job_methods(c, argc, argv, true);
}

/* The kinds of values `set` parses: strings go to the daemon as typed, which checks them. */
enum {
        VALUE_STRING = 's',
        VALUE_BOOL = 'b',
        VALUE_RATE = 't',       /* bytes per second, with a unit */
        VALUE_SECONDS = 'u',    /* seconds, with a unit */
        VALUE_COUNT = 'n',      /* a plain number (milliseconds, files) */
};

typedef struct WritableProperty {
        const char *name;
        char type;
        const char *alias;      /* a shorter name, or NULL */
        const char *expected;   /* what a valid value looks like, for the message */
} WritableProperty;

static const WritableProperty writable_properties[] = {
        { "DisplayName",                 VALUE_STRING,  NULL, NULL },
        { "Description",                 VALUE_STRING,  NULL, NULL },
        { "Priority",                    VALUE_STRING,  NULL, NULL },
        { "AutoComplete",                VALUE_BOOL,    NULL, "yes or no" },
        { "BandwidthLimit",              VALUE_RATE,    NULL, "bytes per second, e.g. 500K or 2M (0 = no limit)" },
        { "AllowInsecureRedirect",       VALUE_BOOL,    NULL, "yes or no" },
        { "MinimumRetryDelay",           VALUE_SECONDS, NULL, "seconds, e.g. 30, 10m, 2h or 14d" },
        { "NoProgressTimeout",           VALUE_SECONDS, NULL, "seconds, e.g. 30, 10m, 2h or 14d" },
        { "MinimumNotificationInterval", VALUE_COUNT,   NULL, "milliseconds, e.g. 500" },
        { "CostPolicy",                  VALUE_STRING,  NULL, NULL },
        { "Proxy",                       VALUE_STRING,  NULL, NULL },
        /* The daemon says which counts it takes. */
        { "MaxConcurrentFiles",          VALUE_COUNT,   "ConcurrentFiles", "a count, e.g. 4" },
};

/* "AutoComplete", "autocomplete", "auto-complete" and "auto_complete" all name the same
 * property: compare letters only, ignoring case. */
static bool property_name_matches(const char *name, const char *typed) {
        for (;;) {
                while (*typed == '-' || *typed == '_')
                        typed++;
                if (!*name || !*typed)
                        return !*name && !*typed;
                if (tolower((unsigned char) *name) != tolower((unsigned char) *typed))
                        return false;
                name++, typed++;
        }
}

static const WritableProperty *writable_property_find(const char *typed) {
        for (size_t i = 0; i < ELEMENTSOF(writable_properties); i++)
                if (property_name_matches(writable_properties[i].name, typed) ||
                    (writable_properties[i].alias && property_name_matches(writable_properties[i].alias, typed)))
                        return &writable_properties[i];
        return NULL;
}

typedef struct Value {
        bool b;
        uint64_t t;
        uint32_t u;
} Value;

/* Parses before asking the bus, so a typo costs no round trip and gets a precise message. */
static int parse_value(const WritableProperty *p, const char *s, Value *v) {
        uint64_t n;
        int r = 0;

        switch (p->type) {
        case VALUE_BOOL:
                r = parse_bool(s, &v->b);
                break;
        case VALUE_RATE:
                r = parse_size(s, &v->t);
                break;
        case VALUE_SECONDS:
                r = parse_seconds(s, &v->u);
                break;
        case VALUE_COUNT:
                r = parse_count(s, UINT32_MAX, &n);
                v->u = (uint32_t) n;
                break;
        }
        if (r < 0)
                return report_error(r, "invalid value \"%s\" for %s: expected %s", s, p->name, p->expected);
        return 0;
}

int verb_set(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL, *path = NULL;
        const WritableProperty *p;
        Value v = { false, 0, 0 };
        int r;

        assert(c);
        assert(argv);

        p = writable_property_find(argv[2]);
        if (!p) {
                report_error(-EINVAL, "\"%s\" is not a writable job property", argv[2]);
                fprintf(stderr, "Writable properties:");
                for (size_t i = 0; i < ELEMENTSOF(writable_properties); i++)
                        fprintf(stderr, " %s", writable_properties[i].name);
                fputc('\n', stderr);
                return EXIT_USAGE;
        }

        r = parse_value(p, argv[3], &v);
        if (r < 0)
                return EXIT_USAGE;

        r = job_lookup(c->bus, argv[1], &id, &path);
        if (r < 0)
                return r;

        switch (p->type) {
        case VALUE_BOOL:
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "b", (int) v.b);
                break;
        case VALUE_RATE:
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "t", v.t);
                break;
        case VALUE_SECONDS:
        case VALUE_COUNT:
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "u", v.u);
                break;
        default:
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "s", argv[3]);
        }
        if (r < 0)
                return report_bus_error(&error, r, "cannot set %s of job %s", p->name, id);

        if (c->json) {
                JsonWriter *w = json_job_begin(id, path);

                if (!w)
                        return report_error(-ENOMEM, "out of memory");
                json_key(w, p->name);
                switch (p->type) {
                case VALUE_BOOL:    json_bool(w, v.b); break;
                case VALUE_RATE:    json_uint(w, v.t); break;
                case VALUE_SECONDS:
                case VALUE_COUNT:   json_uint(w, v.u); break;
                default:            json_string(w, argv[3]);
                }
                return json_job_end(w);
        }
        return 0;
}
