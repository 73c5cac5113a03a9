/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libgen.h>

#include "bus-errors.h"
#include "bus-rows.h"
#include "bus.h"
#include "config.h"
#include "heap-huge.h"
#include "log.h"
#include "safe-text.h"

static int reply_job(sd_bus_message *m, const Job *j) {
        return sd_bus_reply_method_return(m, "so", j->id, bus_job_path(j).s);
}

/* The caller's uid, and its groups into o: the files of a new job are reached with the groups
 * of the connection that creates it. */
static int caller_job_options(Bus *b, sd_bus_message *m, JobOptions *o, uid_t *ret_uid) {
        BusCaller caller;
        int r;

        r = bus_access_get_caller(b, m, &caller);
        if (r < 0)
                return r;
        o->groups = caller.groups;
        o->n_groups = caller.n_groups;
        *ret_uid = caller.uid;
        return 0;
}

enum { CREATE_TYPE = _BUS_JOB_OPTION_MAX, CREATE_CHECKSUM_LIST, CREATE_CHECKSUM_LIST_SIGNATURE, _CREATE_MAX };

static int method_create_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusOptionSpec spec[_CREATE_MAX];
        Bus *b = userdata;
        JobOptions o = { .type = JOB_DOWNLOAD, .priority = JOB_PRIORITY_NORMAL };
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_(bus_options_done) BusOptions v = { .present = { false } };
        _cleanup_free_ char *binding = NULL;
        const char *name;
        uid_t uid;
        Job *j;
        int r;

        bus_options_spec_job(spec);
        spec[CREATE_TYPE] = (BusOptionSpec) { "type", "s" };
        spec[CREATE_CHECKSUM_LIST] = (BusOptionSpec) { "checksum-list", "s" };
        spec[CREATE_CHECKSUM_LIST_SIGNATURE] = (BusOptionSpec) { "checksum-list-signature", "s" };

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = bus_options_read(m, spec, ELEMENTSOF(spec), &v, error);
        if (r < 0)
                return r;
        if (v.present[CREATE_TYPE]) {
                o.type = job_type_from_string(v.strings[CREATE_TYPE]);
                if (o.type < 0) {
                        char quoted[BUS_ERROR_QUOTE_SIZE];
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown job type '%s'; use 'download' or 'upload'.",
                                                 bus_error_quote(quoted, v.strings[CREATE_TYPE]));
                }
        }
        o.checksum_list = v.strings[CREATE_CHECKSUM_LIST];
        o.checksum_list_signature = v.strings[CREATE_CHECKSUM_LIST_SIGNATURE];
        r = bus_options_get_job(b, m, &v, &o, &binding, error);
        if (r < 0)
                return r;
        r = caller_job_options(b, m, &o, &uid);
        if (r < 0)
                return r;
        r = manager_create_job(b->manager, uid, name, &o, &j, &e);
        if (r < 0)
                return bus_error_from_call(error, r, &e);
        return reply_job(m, j);
}

enum { DL_AUTO_COMPLETE = _BUS_JOB_OPTION_MAX, DL_DISPLAY_NAME, DL_FILE, _DL_MAX = DL_FILE + _BUS_FILE_OPTION_MAX };

static int method_download(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusOptionSpec spec[_DL_MAX];
        _cleanup_free_ char *binding = NULL;
        Bus *b = userdata;
        JobOptions o = { .type = JOB_DOWNLOAD, .priority = JOB_PRIORITY_NORMAL, .auto_complete = true };
        CallError e = { .kind = CALL_ERROR_NONE };
        _cleanup_(bus_options_done) BusOptions v = { .present = { false } };
        JobFileOptions fo;
        const char *url, *path;
        _cleanup_free_ char *copy = NULL, *safe_name = NULL;
        uid_t uid;
        Job *j;
        int r;

        bus_options_spec_job(spec);
        spec[DL_AUTO_COMPLETE] = (BusOptionSpec) { "auto-complete", "b" };
        spec[DL_DISPLAY_NAME] = (BusOptionSpec) { "display-name", "s" };
        bus_options_spec_file(spec + DL_FILE);

        r = bus_options_read_url_path(m, spec, ELEMENTSOF(spec), &url, &path, &v, error);
        if (r < 0)
                return r;
        bus_options_get_file(&v, DL_FILE, &fo);
        if (v.present[DL_AUTO_COMPLETE])
                o.auto_complete = v.booleans[DL_AUTO_COMPLETE];
        r = bus_options_get_job(b, m, &v, &o, &binding, error);
        if (r < 0)
                return r;

        /* A file name may hold what a display name may not (control characters): the name
         * made from it is made safe, and cut to fit. */
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        if (!v.present[DL_DISPLAY_NAME]) {
                safe_name = safe_text_dup(basename(copy), JOB_DISPLAY_NAME_MAX);
                if (!safe_name)
                        return -ENOMEM;
        }
        const char *name = v.present[DL_DISPLAY_NAME] ? v.strings[DL_DISPLAY_NAME] : safe_name;

        r = caller_job_options(b, m, &o, &uid);
        if (r < 0)
                return r;
        /* The three steps in one batch with the Download calls that arrive together: one
         * commit, then what they announce, then the replies. */
        CallError stored = { .kind = CALL_ERROR_NONE };
        int k;
        manager_batch_begin(b->manager);
        r = manager_create_job(b->manager, uid, name, &o, &j, &e);
        if (r < 0) {
                if (manager_batch_end(b->manager, &stored) > 0)
                        (void) manager_batch_close(b->manager, &stored);
                return bus_error_from_call(error, r, &e);
        }
        char *urls[] = { (char *) url, NULL }, *paths[] = { (char *) path, NULL };
        r = job_add_files_with_options(j, urls, paths, &fo, 1, &e);
        if (r >= 0)
                r = job_resume(j, &e);
        /* A call that did its steps is kept with the batch before the batch ends, which may
         * close it (its last call): the close replies to it with the others, in one write
         * (bus-out.h), or with IOError when the commit failed. */
        if (r >= 0 && bus_batch_keep(b, m, j) >= 0) {
                (void) manager_batch_end(b->manager, &stored);
                return 1;
        }
        k = manager_batch_end(b->manager, &stored);
        /* A failed call is answered now: what the batch holds is stored and told first. */
        if (k > 0 && r < 0)
                k = manager_batch_close(b->manager, &stored);
        if (k < 0)  /* nothing of it was stored: the job is gone again, never announced */
                return bus_error_from_call(error, k, &stored);
        if (k > 0 && r >= 0) {
                /* No room to keep the reply: the batch is stored and told, then this reply. */
                (void) manager_batch_close(b->manager, &stored);
                return reply_job(m, j);
        }
        if (r < 0) {
                /* Nothing of a refused Download stays behind. */
                CallError ignored = { .kind = CALL_ERROR_NONE };
                (void) job_cancel(j, NULL, &ignored);
                return bus_error_from_call(error, r, &e);
        }
        return reply_job(m, j);
}

static int method_get_job(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const char *id;
        Job *j;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        j = manager_find_job(b->manager, id);
        if (!j || job_state_is_final(j->state)) {
                char quoted[BUS_ERROR_QUOTE_SIZE];
                return sd_bus_error_setf(error, bus_error_name(ERROR_NAME_NO_SUCH_JOB),
                                         "No job with id '%s' is queued; see ListJobs.", bus_error_quote(quoted, id));
        }
        r = bus_access_check_job(b, m, j, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "o", bus_job_path(j).s);
}

typedef struct JobsListed {
        Bus *bus;
        bool all;
        bool paths;             /* ListJobs' rows end with the object path; ListJobsCompact's do not */
        uid_t uid;
        size_t n;               /* rows to come */
        HeapFollow body;        /* where the reply's body is (see heap-huge.h) */
} JobsListed;

/* Eight bytes at a time: 100 000 rows' names cost a fraction of a millisecond. */
static bool text_is_ascii(const char *s, size_t n) {
        uint64_t any = 0, w;
        size_t i = 0;

        for (; i + sizeof w <= n; i += sizeof w) {
                memcpy(&w, s + i, sizeof w);
                any |= w;
        }
        for (; i < n; i++)
                any |= (unsigned char) s[i];
        return (any & UINT64_C(0x8080808080808080)) == 0;
}

/* A display name is clean text (safe-text.h: a valid D-Bus string) by the one rule every way in
 * applies (job_check_text() for CreateJob, Download and DisplayName, recovery's clean for stored
 * ones). A plain ASCII name, nearly every one, needs no look; any other goes through sd-bus's
 * check, so a name that slipped past the rule fails this call instead of reaching dbus-daemon
 * (which drops xferd's connection for invalid UTF-8) or sd-bus clients (which refuse the reply). */
static int append_display_name(sd_bus_message *reply, const char *s) {
        s = strempty(s);
        if (!text_is_ascii(s, strlen(s)))
                return sd_bus_message_append_basic(reply, 's', s);
        return bus_append_known_text(reply, s, NULL);
}

/* A row takes about 170 bytes (a long display name more): what the rows still to come are
 * taken to need of the body, prepared in advance. */
#define ROW_BYTES 256

#define ROW_FIELDS "ssssutt"
#define ROW_FIELDS_PATH ROW_FIELDS "o"

/* A row's fields after its id, and the row's close, through sd-bus: every row of the
 * field-by-field path, the last one of the written rows (bus-rows.h). */
static int append_job_row_tail(sd_bus_message *reply, const Job *j, bool paths) {
        uint32_t owner = (uint32_t) j->owner;
        JobCounts c = job_counts(j);
        int r;

        r = append_display_name(reply, j->display_name);
        if (r >= 0)
                r = bus_append_known_text(reply, job_type_to_string(j->type), NULL);
        if (r >= 0)
                r = bus_append_known_text(reply, job_state_to_string(j->state), NULL);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 'u', &owner);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 't', &c.bytes_transferred);
        if (r >= 0)
                r = sd_bus_message_append_basic(reply, 't', &c.bytes_total);
        if (r >= 0 && paths)
                r = sd_bus_message_append_basic(reply, 'o', bus_job_path(j).s);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* One row of ListJobs, a field at a time: sd_bus_message_append() would parse "(ssssutto)"
 * again for each of 100 000 rows. */
static int append_job_row(sd_bus_message *reply, Job *j, JobsListed *l) {
        char *at = NULL;
        int r;

        r = sd_bus_message_open_container(reply, 'r', l->paths ? ROW_FIELDS_PATH : ROW_FIELDS);
        if (r >= 0)
                r = bus_append_known_text(reply, j->id, &at);
        if (r < 0)
                return r;
        heap_follow(&l->body, at, (l->n > 0 ? l->n : 1) * ROW_BYTES);
        return append_job_row_tail(reply, j, l->paths);
}

/* The rows' jobs: every job, or the caller's own only (its owner's list, never another user's
 * job), each asked for from memory a few places ahead. */
static Job *listed_first(const JobsListed *l) {
        Manager *m = l->bus->manager;
        Job *j = l->all ? manager_first_job(m) : manager_first_owned_job(m, l->uid);

        if (j)
                job_prefetch_ahead(j, !l->all);
        return j;
}

static Job *listed_next(const JobsListed *l, Job *j) {
        j = l->all ? job_next(j) : job_next_owned(j);
        if (j)
                job_prefetch_ahead(j, !l->all);
        return j;
}

/* One row as append_job_row() appends it, measured or written (bus-rows.h); the last row only
 * up to its id's characters, the rest of it goes through sd-bus. */
static void put_job_row(BusRows *w, const Job *j, bool paths, bool last) {
        static const char prefix[] = XFERD_JOB_PATH_PREFIX;
        /* (strempty(): as bus_append_known_text() takes a table's NULL, for the same bytes) */
        const char *name = strempty(j->display_name), *type = strempty(job_type_to_string(j->type)),
                   *state = strempty(job_state_to_string(j->state));
        size_t n = strnlen(j->id, sizeof j->id - 1);

        bus_rows_align(w, 8);
        bus_rows_u32(w, (uint32_t) n);
        bus_rows_put(w, j->id, n);
        if (last)
                return;
        bus_rows_put(w, "", 1);
        bus_rows_string(w, name, strlen(name));
        bus_rows_string(w, type, strlen(type));
        bus_rows_string(w, state, strlen(state));
        bus_rows_u32(w, (uint32_t) j->owner);
        if (w->p) {
                JobCounts c = job_counts(j);

                bus_rows_u64(w, c.bytes_transferred);
                bus_rows_u64(w, c.bytes_total);
        } else {
                bus_rows_u64(w, 0);
                bus_rows_u64(w, 0);
        }
        if (paths) {
                bus_rows_u32(w, (uint32_t) (sizeof prefix - 1 + n));
                bus_rows_put(w, prefix, sizeof prefix - 1);
                bus_rows_put(w, j->id, n + 1);
        }
}

/* Every row through sd-bus, a field at a time; each measured first (as put_job_row() would
 * write it), so that the reply never passes what one message may carry. */
static int append_jobs_fields(sd_bus_message *reply, JobsListed *l) {
        BusRows measure = BUS_ROWS_MEASURE;
        int r;

        for (Job *j = listed_first(l); j; j = listed_next(l, j)) {
                put_job_row(&measure, j, l->paths, false);
                if (measure.offset > bus_message_max())
                        return -E2BIG;
                r = append_job_row(reply, j, l);
                if (r < 0)
                        return r;
                if (l->n > 0)
                        l->n--;
        }
        return 0;
}

/* The rows written by xferd into the reply (bus-rows.h): measured first, every display name
 * checked on the way, then written. Returns 1 when appended, 0 when sd-bus is to append them
 * field by field instead (no job, or a name that is not clean text: sd-bus's check then fails
 * the call), negative errno (E2BIG: more than one message may carry, bus_message_max()). */
static int append_jobs_rows(sd_bus_message *reply, JobsListed *l) {
        BusRows w = BUS_ROWS_MEASURE, whole;
        Job *first = listed_first(l), *last = NULL;
        uint64_t end, row_start = 0;
        int r;

        if (!first)
                return 0;
        /* Measured: the room runs from the first id's characters to the last id's. */
        for (Job *j = first, *next; j; j = next) {
                const char *name = strempty(j->display_name);

                if (!text_is_ascii(name, strlen(name)) && !safe_text_is_clean(name))
                        return 0;
                next = listed_next(l, j);
                row_start = w.offset;
                put_job_row(&w, j, l->paths, !next);
                if (w.offset > bus_message_max())
                        return -E2BIG;
                last = j;
        }
        /* The whole body, the last row's fields after its id (appended by sd-bus) included. */
        whole = (BusRows) { .p = NULL, .offset = row_start };
        put_job_row(&whole, last, l->paths, false);
        if (whole.offset > bus_message_max())
                return -E2BIG;

        r = sd_bus_message_open_container(reply, 'r', l->paths ? ROW_FIELDS_PATH : ROW_FIELDS);
        if (r < 0)
                return r;
        end = w.offset;
        r = bus_rows_begin(reply, end - BUS_ROWS_ROOM, &w);
        if (r < 0)
                return r;
        heap_follow(&l->body, w.p, (size_t) (end - BUS_ROWS_FIRST_ROW));
        for (Job *j = first; j; j = j == last ? NULL : listed_next(l, j))
                put_job_row(&w, j, l->paths, j == last);
        if (w.offset != end)
                return log_error_errno(EPROTO, "Bug: ListJobs' rows came out at %" PRIu64 " bytes, measured %" PRIu64 ".",
                                       w.offset, end);

        /* The last row's other fields, through sd-bus as append_job_row() appends them. */
        r = append_job_row_tail(reply, last, l->paths);
        return r < 0 ? r : 1;
}

static int append_jobs(sd_bus_message *reply, void *userdata) {
        JobsListed *l = userdata;
        int r;

        r = append_jobs_rows(reply, l);
        if (r != 0)
                return r < 0 ? r : 0;
        return append_jobs_fields(reply, l);
}

/* ListJobs, and ListJobsCompact without the paths: a path is the prefix and the id, and at
 * 100 000 jobs the paths are 37 % of the reply, which dbus-daemon checks and copies whole. */
static int list_jobs(sd_bus_message *m, Bus *b, bool paths, sd_bus_error *error) {
        JobsListed l;
        int all, r;
        uid_t uid;

        r = sd_bus_message_read(m, "b", &all);
        if (r < 0)
                return r;
        r = bus_access_get_caller_uid(b, m, &uid);
        if (r < 0)
                return r;
        if (all && b->system && !bus_access_is_admin(b, m, uid))
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root or an administrator polkit allows "
                                        "(org.xferd.Transfer1.manage-all) may list the jobs of all users.");

        l = (JobsListed) {
                .bus = b,
                .all = all,
                .paths = paths,
                .uid = uid,
                .n = all ? manager_n_jobs(b->manager) : manager_count_jobs(b->manager, uid),
        };
        /* A reply of a few thousand rows stays in the heap: no look at the mappings. */
        l.body = heap_follow_begin(l.n * ROW_BYTES);
        r = bus_reply_array(m, paths ? "(" ROW_FIELDS_PATH ")" : "(" ROW_FIELDS ")", append_jobs, &l, error);
        heap_follow_end(&l.body);
        return r;
}

static int method_list_jobs(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return list_jobs(m, userdata, true, error);
}

static int method_list_jobs_compact(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return list_jobs(m, userdata, false, error);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", XFERD_VERSION);
}

static int property_get_max_background(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "u", manager_get_config(b->manager)->max_background_transfers);
}

static int property_get_background_limit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        return sd_bus_message_append(reply, "t", manager_get_config(b->manager)->background_bandwidth_limit);
}

static int property_get_default_cost_policy(sd_bus *bus, const char *path, const char *interface,
                                            const char *property, sd_bus_message *reply, void *userdata,
                                            sd_bus_error *error) {
        Bus *b = userdata;
        CostPolicy p = manager_get_config(b->manager)->default_cost_policy;

        return sd_bus_message_append(reply, "s", cost_policy_to_string(p));
}

/* What xferd believes about the network, for `xferctl status`: the source, and NetworkManager's
 * values while it is the source ("unknown" otherwise). */
static int property_get_network(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        const NetworkView *v = manager_get_network(b->manager);
        bool nm = v->source == NETWORK_SOURCE_NETWORKMANAGER;

        if (streq(property, "NetworkSource"))
                return sd_bus_message_append(reply, "s", network_source_to_string(v->source));
        if (streq(property, "NetworkMetered"))
                return sd_bus_message_append(reply, "s",
                                             network_metered_to_string(nm ? v->metered : NETWORK_METERED_UNKNOWN));
        return sd_bus_message_append(reply, "s", network_connectivity_to_string(nm ? v->connectivity
                                                                                      : NETWORK_CONNECTIVITY_UNKNOWN));
}

/* The settings of the whole daemon are for its administrator only. */
static int read_admin_value(Bus *b, sd_bus_message *value, const char *property, char type, void *ret,
                            sd_bus_error *error) {
        uid_t uid;
        int r;

        r = bus_access_get_caller_uid(b, value, &uid);
        if (r < 0)
                return r;
        if (!bus_access_is_admin(b, value, uid))
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root or an administrator polkit allows "
                                         "(org.xferd.Transfer1.configure) may change %s.", property);
        return sd_bus_message_read_basic(value, type, ret);
}

static int property_set_max_background(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        uint32_t n;
        int r;

        r = read_admin_value(b, value, property, 'u', &n, error);
        if (r < 0)
                return r;
        if (n == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "MaxBackgroundTransfers must be at least 1.");
        r = manager_set_max_background_transfers(b->manager, n);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

static int property_set_background_limit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                         sd_bus_message *value, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        uint64_t n;
        int r;

        r = read_admin_value(b, value, property, 't', &n, error);
        if (r < 0)
                return r;
        r = manager_set_background_bandwidth_limit(b->manager, n);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

static int property_get_bytes_from(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        return sd_bus_message_append(reply, "t", streq(property, "BytesFromCache")
                                                         ? manager_get_bytes_from_cache(b->manager)
                                                         : manager_get_bytes_from_origin(b->manager));
}

const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CreateJob",
                                SD_BUS_ARGS("s", display_name, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", job),
                                method_create_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Download",
                                SD_BUS_ARGS("s", url, "s", local_path, "a{sv}", options),
                                SD_BUS_RESULT("s", id, "o", job),
                                method_download, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetJob",
                                SD_BUS_ARGS("s", id),
                                SD_BUS_RESULT("o", job),
                                method_get_job, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobs",
                                SD_BUS_ARGS("b", all_users),
                                SD_BUS_RESULT("a(ssssutto)", jobs),
                                method_list_jobs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListJobsCompact",
                                SD_BUS_ARGS("b", all_users),
                                SD_BUS_RESULT("a(ssssutt)", jobs),
                                method_list_jobs_compact, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("JobNew", SD_BUS_ARGS("s", id, "o", job), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobRemoved", SD_BUS_ARGS("s", id, "o", job, "s", final_state), 0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_WRITABLE_PROPERTY("MaxBackgroundTransfers", "u", property_get_max_background,
                                 property_set_max_background, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_WRITABLE_PROPERTY("BackgroundBandwidthLimit", "t", property_get_background_limit,
                                 property_set_background_limit, 0,
                                 SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("DefaultCostPolicy", "s", property_get_default_cost_policy, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NetworkSource", "s", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NetworkMetered", "s", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NetworkConnectivity", "s", property_get_network, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Totals that move with every byte: read, not announced. */
        SD_BUS_PROPERTY("BytesFromCache", "t", property_get_bytes_from, 0, 0),
        SD_BUS_PROPERTY("BytesFromOrigin", "t", property_get_bytes_from, 0, 0),
        SD_BUS_VTABLE_END
};
