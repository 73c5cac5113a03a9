/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Verbs that change jobs with one call each: create, add, resume, suspend, cancel,
 * complete, set. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "job-lookup.h"
#include "names.h"
#include "parse.h"
#include "path-util.h"
#include "report.h"
#include "util.h"
#include "xferctl.h"

int verb_create(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *id, *path;
        int r;

        assert(c);
        assert(argv);

        r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                               "CreateJob", &error, &reply, "sa{sv}", argv[1], 0);
        if (r < 0)
                return report_bus_error(&error, r, "cannot create job \"%s\"", argv[1]);

        r = sd_bus_message_read(reply, "so", &id, &path);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot read the reply of CreateJob");

        /* Only the id, so that scripts can write JOB=$(xferctl create NAME). */
        printf("%s\n", id);
        return 0;
}

int verb_add(Ctl *c, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL, *path = NULL, *target = NULL;
        int r;

        assert(c);
        assert(argv);

        r = job_lookup(c->bus, argv[1], &id, &path);
        if (r < 0)
                return r;

        r = path_download_target(argv[2], argv[3], &target);
        if (r < 0)
                return r;

        if (!file_options_any(&c->file)) {
                r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "AddFile", &error, NULL,
                                       "ss", argv[2], target);
                if (r < 0)
                        return report_bus_error(&error, r, "cannot add %s to job %s", target, id);
                return 0;
        }

        /* What the file must be: AddFileWithOptions. */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = sd_bus_message_new_method_call(c->bus, &m, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, "AddFileWithOptions");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", argv[2], target);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = file_options_append(&c->file, m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot build the call");
        r = sd_bus_call(c->bus, m, 0, &error, NULL);
        if (r < 0)
                return report_bus_error(&error, r, "cannot add %s to job %s", target, id);
        return 0;
}

/* resume, suspend, cancel, complete: the D-Bus method is the verb with a capital. Every JOB
 * is tried; the exit status says whether all succeeded. */
int verb_job_method(Ctl *c, int argc, char **argv) {
        const char *verb;
        char method[16];
        int ret = 0;

        assert(c);
        assert(argv);

        verb = argv[0];
        snprintf(method, sizeof method, "%s", verb);
        method[0] = (char) toupper((unsigned char) method[0]);

        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_free_ char *id = NULL, *path = NULL;
                int r;

                r = job_lookup(c->bus, argv[i], &id, &path);
                if (r < 0) {
                        ret = r;
                        continue;
                }

                r = sd_bus_call_method(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, method,
                                       &error, &reply, "");
                if (r < 0) {
                        ret = report_bus_error(&error, r, "cannot %s job %s", verb, id);
                        continue;
                }

                if (streq(method, "Complete")) {
                        int partial;

                        r = sd_bus_message_read(reply, "b", &partial);
                        if (r < 0)
                                ret = report_bus_error(NULL, r, "cannot read the reply of Complete");
                        else if (partial)
                                /* BITS' BG_S_PARTIAL_COMPLETE: success, but say what was lost. */
                                fprintf(stderr, "Job %s completed partially: files not fully transferred were removed.\n", id);
                }
        }
        return ret;
}

typedef struct WritableProperty {
        const char *name;
        char type;
} WritableProperty;

static const WritableProperty writable_properties[] = {
        { "DisplayName",           's' },
        { "Description",           's' },
        { "Priority",              's' },
        { "AutoComplete",          'b' },
        { "BandwidthLimit",        't' },
        { "AllowInsecureRedirect", 'b' },
        { "MinimumRetryDelay",     'u' },
        { "NoProgressTimeout",     'u' },
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
                if (property_name_matches(writable_properties[i].name, typed))
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
        int r = 0;

        switch (p->type) {
        case 'b':
                r = parse_bool(s, &v->b);
                if (r < 0)
                        return report_error(r, "invalid value \"%s\" for %s: expected yes or no", s, p->name);
                break;
        case 't':
                r = parse_size(s, &v->t);
                if (r < 0)
                        return report_error(r, "invalid value \"%s\" for %s: expected bytes per second, e.g. 500K or 2M (0 = no limit)",
                                            s, p->name);
                break;
        case 'u':
                r = parse_seconds(s, &v->u);
                if (r < 0)
                        return report_error(r, "invalid value \"%s\" for %s: expected seconds, e.g. 30, 10m, 2h or 14d",
                                            s, p->name);
                break;
        }
        return r;
}

int verb_set(Ctl *c, int argc, char **argv) {
        assert(c);
        assert(argv);

        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *id = NULL, *path = NULL;
        const WritableProperty *p;
        Value v = { false, 0, 0 };
        int r;

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
        case 'b':
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "b", (int) v.b);
                break;
        case 't':
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "t", v.t);
                break;
        case 'u':
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "u", v.u);
                break;
        default:
                r = sd_bus_set_property(c->bus, XFERD_BUS_NAME, path, XFERD_JOB_IFACE, p->name, &error, "s", argv[3]);
        }
        if (r < 0)
                return report_bus_error(&error, r, "cannot set %s of job %s", p->name, id);
        return 0;
}
