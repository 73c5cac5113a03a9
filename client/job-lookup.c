/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-dict.h"
#include "job-list.h"
#include "job-lookup.h"
#include "names.h"
#include "report.h"
#include "text.h"
#include "util.h"

/* Enough candidates to show what is going on without flooding the terminal. */
#define MAX_CANDIDATES_SHOWN 10

typedef struct Candidate {
        char *id;
        char *name;
        char *state;
        char *path;
} Candidate;

typedef struct Candidates {
        Candidate *items;
        size_t n, allocated;
} Candidates;

static void candidates_done(Candidates *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].id);
                free(c->items[i].name);
                free(c->items[i].state);
                free(c->items[i].path);
        }
        free(c->items);
}

static int candidates_add(Candidates *c, const char *id, const char *name, const char *state, const char *path) {
        Candidate *x;
        int r;

        /* Both listings (own jobs, then all) may return the same job. */
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->items[i].id, id))
                        return 0;

        r = array_reserve((void **) &c->items, &c->allocated, c->n + 1, sizeof(Candidate));
        if (r < 0)
                return r;
        x = &c->items[c->n];
        *x = (Candidate) {
                .id = strdup(id),
                .name = strdup(name),
                .state = strdup(state),
                .path = strdup(path),
        };
        c->n++;
        if (!x->id || !x->name || !x->state || !x->path)
                return -ENOMEM;
        return 0;
}

static bool arg_matches(const char *arg, const char *id, const char *name) {
        size_t n = strlen(arg);
        bool prefix = n > 0 && n <= XFERD_JOB_ID_LEN;

        /* Ids are lowercase; a prefix typed in capitals still means the same id. */
        for (size_t i = 0; prefix && i < n; i++)
                if (tolower((unsigned char) arg[i]) != id[i])
                        prefix = false;
        return prefix || streq(arg, name);
}

typedef struct Matching {
        const char *arg;
        Candidates *candidates;
} Matching;

static int listed_matching(const JobListEntry *e, void *userdata) {
        Matching *m = userdata;

        return arg_matches(m->arg, e->id, e->name) ? candidates_add(m->candidates, e->id, e->name, e->state, e->path) : 0;
}

/* Adds the jobs of one ListJobs call that match arg. */
static int list_matching(sd_bus *bus, bool all_users, const char *arg, Candidates *c, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Matching m = { arg, c };
        int r;

        r = job_list_call(bus, all_users, error, &reply);
        if (r < 0)
                return r;
        return job_list_read(reply, listed_matching, &m);
}

typedef struct NameState {
        const char *name;
        const char *state;
} NameState;

/* DisplayName and State from the a{sv} of a job object; the strings point into the message. */
static int name_state_entry(sd_bus_message *m, const char *key, void *userdata) {
        NameState *ns = userdata;
        const char **field = streq(key, "State") ? &ns->state : streq(key, "DisplayName") ? &ns->name : NULL;

        if (!field || sd_bus_message_verify_type(m, 'v', "s") <= 0)
                return 0;
        return sd_bus_message_read(m, "v", "s", field);
}

static int object_matching(const char *path, sd_bus_message *reply, void *userdata) {
        Matching *m = userdata;
        NameState ns = { "", "" };
        const char *id = job_id_from_path(path);
        int r;

        if (!id)
                return sd_bus_message_skip(reply, "a{sv}");
        r = bus_dict_read(reply, name_state_entry, &ns);
        if (r < 0 || !arg_matches(m->arg, id, ns.name))
                return r;
        return candidates_add(m->candidates, id, ns.name, ns.state, path);
}

/* Jobs that left ListJobs (acknowledged, cancelled) stay on the bus for a while: the object
 * manager still has them. Adds those that match arg. */
static int objects_matching(sd_bus *bus, const char *arg, Candidates *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Matching m = { arg, c };
        int r;

        r = job_objects_call(bus, &reply);
        if (r < 0)
                return r;
        return job_objects_read(reply, object_matching, &m);
}

/* The one job whose id starts with arg or whose display name is arg, among the caller's (all
 * for root) and those finished a moment ago; reported when none or several match. */
static int job_lookup_by_name(sd_bus *bus, const char *arg, char **ret_id, char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(candidates_done) Candidates c = { .items = NULL };
        int r;

        r = list_matching(bus, false, arg, &c, &error);
        if (r < 0)
                return report_bus_error(&error, r, "cannot list jobs to find \"%s\"", arg);
        /* Root may act on every job; other users' jobs only show with all_users. That call
         * can fail (e.g. refused by policy) — the caller's own jobs are still an answer. */
        if (geteuid() == 0) {
                sd_bus_error_free(&error);
                (void) list_matching(bus, true, arg, &c, &error);
        }
        /* Not queued any more, maybe finished a moment ago. */
        if (c.n == 0)
                (void) objects_matching(bus, arg, &c);

        if (c.n == 0) {
                _cleanup_free_ char *safe = text_sanitize(arg);
                return report_error(-ENOENT, "no job matches \"%s\" (give an id, a unique id prefix or a display name; see 'xferctl list')",
                                    safe ? safe : arg);
        }
        if (c.n > 1) {
                _cleanup_free_ char *safe = text_sanitize(arg);

                report_error(-EADDRNOTAVAIL, "\"%s\" is ambiguous, it matches %zu jobs:", safe ? safe : arg, c.n);
                for (size_t i = 0; i < c.n && i < MAX_CANDIDATES_SHOWN; i++) {
                        _cleanup_free_ char *name = text_sanitize(c.items[i].name);
                        fprintf(stderr, "  %s  %s (%s)\n", c.items[i].id, name ? name : "", c.items[i].state);
                }
                if (c.n > MAX_CANDIDATES_SHOWN)
                        fprintf(stderr, "  … and %zu more\n", c.n - MAX_CANDIDATES_SHOWN);
                fprintf(stderr, "Give a longer id prefix or the full id.\n");
                return -EADDRNOTAVAIL;
        }

        *ret_id = TAKE_PTR(c.items[0].id);
        *ret_path = TAKE_PTR(c.items[0].path);
        return 0;
}

int job_lookup(sd_bus *bus, const char *arg, char **ret_id, char **ret_path) {
        _cleanup_free_ char *id = NULL, *path = NULL;
        const char *from_path;
        int r;

        assert(bus);
        assert(arg);

        from_path = job_id_from_path(arg);
        if (job_id_is_valid(arg) || from_path) {
                id = strdup(from_path ? from_path : arg);
                path = job_id_to_path(id ? id : "");
                if (!id || !path)
                        return report_error(-ENOMEM, "out of memory");
        } else {
                r = job_lookup_by_name(bus, arg, &id, &path);
                if (r < 0)
                        return r;
        }

        if (ret_id)
                *ret_id = TAKE_PTR(id);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}
