/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job objects: found by path (the access gate of every call and property access on a job),
 * enumerated for a caller (its own jobs, or all), and GetManagedObjects refused when its reply
 * would not fit in one message. */
#include <string.h>

#include "bus.h"

/* sd-bus never checks who reads a property: the object lookup is the gate for every call and
 * property access on a job. Signals emitted outside a call have no current message and pass. */
int bus_job_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                 sd_bus_error *error) {
        Bus *b = userdata;
        const char *id;
        sd_bus_message *m;
        uint8_t type;
        Job *j;
        int r;

        assert(bus);
        assert(path);
        assert(b);
        assert(found);

        if (strncmp(path, XFERD_JOB_PATH_PREFIX, strlen(XFERD_JOB_PATH_PREFIX)) != 0)
                return 0;
        id = path + strlen(XFERD_JOB_PATH_PREFIX);
        j = manager_find_job(b->manager, id);
        if (!j)
                return 0;

        m = sd_bus_get_current_message(bus);
        if (m && sd_bus_message_get_type(m, &type) >= 0 && type == SD_BUS_MESSAGE_METHOD_CALL) {
                r = bus_access_check_job(b, m, j, error);
                if (r < 0)
                        return r;
                /* Everything a reply reports is stored first. */
                manager_job_store_reported(j);
        }

        *found = j;
        return 1;
}

/* Introspection and GetManagedObjects show a caller only the jobs it may use: all of them
 * (root, or an administrator through polkit), else those of its user; one whose user is not
 * known, none. */
static void caller_scope(Bus *b, sd_bus_message *m, bool *ret_all, uid_t *ret_uid) {
        uid_t uid;

        if (bus_access_get_caller_uid(b, m, &uid) >= 0) {
                *ret_all = uid == 0 || bus_polkit_authorized(b->polkit, m);
                *ret_uid = uid;
        } else {
                *ret_all = false;
                *ret_uid = (uid_t) -1;  /* no job's owner */
        }
}

int bus_job_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Bus *b = userdata;
        sd_bus_message *m;
        bool all = true;
        uid_t uid = 0;
        size_t n = 0, k = 0;
        _cleanup_strv_free_ char **l = NULL;

        assert(bus);
        assert(b);
        assert(nodes);

        m = sd_bus_get_current_message(bus);
        if (m)
                caller_scope(b, m, &all, &uid);

        for (Job *j = manager_first_job(b->manager); j; j = job_next(j))
                n++;
        for (Job *j = manager_first_retained(b->manager); j; j = job_next(j))
                n++;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (int pass = 0; pass < 2; pass++)
                for (Job *j = pass == 0 ? manager_first_job(b->manager) : manager_first_retained(b->manager);
                     j; j = job_next(j)) {
                        if (!all && j->owner != uid)
                                continue;
                        l[k] = strdup(bus_job_path(j).s);
                        if (!l[k])
                                return -ENOMEM;
                        k++;
                }
        *nodes = TAKE_PTR(l);
        return 0;
}

/* What GetManagedObjects carries for a job, at most: about 1 390 bytes of fixed parts (its
 * path, the interfaces' names, every property's name and signature and the fixed-size values),
 * some room for the short strings (error name), then its texts of any length: the free texts,
 * the proxy (shown shorter, without its userinfo) and the header names (up to 16 KB a job:
 * each whole line is counted, with a string's length, NUL and padding). */
#define JOB_OBJECT_BYTES 1536
#define STRING_FRAME_BYTES 8

static size_t job_object_bytes(const Job *j) {
        size_t n = JOB_OBJECT_BYTES + strlen(strempty(j->display_name)) + strlen(strempty(j->description)) +
                strlen(strempty(j->error_message)) + strlen(strempty(j->upload_url)) + strlen(strempty(j->proxy));

        for (char **h = j->http_headers; h && *h; h++)
                n += strlen(*h) + STRING_FRAME_BYTES;
        return n;
}

/* The estimate is rough (about 1.4 KB a job, 100 000 jobs: 139 MB): a reply is refused above
 * three quarters of what one message may carry (bus_message_max()), the rest margin for what
 * the estimate leaves out. */
static size_t managed_objects_max(void) {
        return bus_message_max() / 4 * 3;
}

int bus_objects_guard(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        size_t bytes = 0, n = 0, max = managed_objects_max();
        bool all = true;
        uid_t uid = 0;

        assert(m);
        assert(b);

        if (!sd_bus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"))
                return 0;
        /* The jobs bus_job_enumerate() gives this caller. */
        caller_scope(b, m, &all, &uid);
        for (int pass = 0; pass < 2 && bytes <= max; pass++)
                for (Job *j = pass == 0 ? manager_first_job(b->manager) : manager_first_retained(b->manager);
                     j && bytes <= max; j = job_next(j))
                        if (all || j->owner == uid) {
                                bytes += job_object_bytes(j);
                                n++;
                        }
        if (bytes <= max)
                return 0;  /* sd-bus's object manager answers */
        return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                 "GetManagedObjects would list more jobs than one D-Bus message can carry "
                                 "(%zu counted so far); list them with ListJobsCompact and read a job with GetAll.",
                                 n);
}
