/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A new job object's InterfacesAdded: its Job interface with the constant properties, the state
 * and what a state change carries with it (no PropertiesChanged follows a new job's
 * announcement), and the standard interfaces without properties; written in D-Bus's wire
 * format (bus-wire.h), or through sd-bus when it cannot be. */
#include <stdlib.h>

#include "bus-out.h"
#include "bus-rows.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

/* The interfaces of a job object, as sd-bus would list them (the standard ones without
 * properties); the Job interface first here, for the wire format: the last key is the room's
 * end, and sd-bus appends its (empty) dictionary. */
static const char *const job_interfaces_empty[] = {
        "org.freedesktop.DBus.Peer",
        "org.freedesktop.DBus.Introspectable",
        "org.freedesktop.DBus.Properties",
};

#define JOB_ADDED_ENTRIES 20
#define JOB_ADDED_ERROR_NAME 7  /* its index */

/* The Job interface's entries of InterfacesAdded: its constant properties, its state, and the
 * values its state's PropertiesChanged would carry (bus-observer.c: ModificationTime, the error
 * and retry fields, the counters, the cache's share, WaitReason), as the vtable's getters give
 * them: numbers and the daemon's own tokens, nothing a caller wrote. ErrorMessage, announced
 * only as invalidated, is not among them. A new job has no error: ErrorName is "". */
static size_t job_added_entries(const Job *j, WireEntry e[static JOB_ADDED_ENTRIES]) {
        JobCounts c = job_counts(j);
        size_t n = 0;

        e[n++] = (WireEntry) { "Id", { .type = 's', .s = j->id } };
        e[n++] = (WireEntry) { "Type", { .type = 's', .s = job_type_to_string(j->type) } };
        e[n++] = (WireEntry) { "Owner", { .type = 'u', .n = (uint32_t) j->owner } };
        e[n++] = (WireEntry) { "State", { .type = 's', .s = job_state_to_string(j->state) } };
        e[n++] = (WireEntry) { "CreationTime", { .type = 't', .n = j->creation_time } };
        e[n++] = (WireEntry) { "ModificationTime", { .type = 't', .n = j->modification_time } };
        e[n++] = (WireEntry) { "TransferCompletionTime", { .type = 't', .n = j->completion_time } };
        assert(n == JOB_ADDED_ERROR_NAME);
        e[n++] = (WireEntry) { "ErrorName", { .type = 's', .s = "" } };
        e[n++] = (WireEntry) { "ErrorCount", { .type = 'u', .n = j->error_count } };
        e[n++] = (WireEntry) { "NextRetryTime", { .type = 't', .n = job_next_retry_time(j) } };
        e[n++] = (WireEntry) { "BytesTransferred", { .type = 't', .n = c.bytes_transferred } };
        e[n++] = (WireEntry) { "BytesTotal", { .type = 't', .n = c.bytes_total } };
        e[n++] = (WireEntry) { "FilesTransferred", { .type = 'u', .n = c.files_transferred } };
        e[n++] = (WireEntry) { "FilesTotal", { .type = 'u', .n = (uint32_t) j->n_files } };
        e[n++] = (WireEntry) { "CurrentFile", { .type = 'u', .n = job_current_file(j) } };
        e[n++] = (WireEntry) { "Rate", { .type = 't', .n = job_rate(j) } };
        e[n++] = (WireEntry) { "ExpectedEndTime", { .type = 't', .n = job_expected_end_time(j) } };
        e[n++] = (WireEntry) { "BytesFromCache", { .type = 't', .n = j->bytes_from_cache } };
        e[n++] = (WireEntry) { "BytesFromOrigin", { .type = 't', .n = j->bytes_from_origin } };
        e[n++] = (WireEntry) { "WaitReason", { .type = 's', .s = job_wait_reason(j) } };
        assert(n == JOB_ADDED_ENTRIES);
        return n;
}

/* InterfacesAdded of the object at path, its array of interfaces opened. */
static int added_new(sd_bus *bus, const char *path, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &s, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                      "InterfacesAdded");
        if (r >= 0)
                r = sd_bus_message_append_basic(s, 'o', path);
        if (r >= 0)
                r = sd_bus_message_open_container(s, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* From the first key's characters (the Job interface's name) to the last key's. */
static void wire_interfaces(BusRows *w, const WireEntry *e, size_t n) {
        const char *last = job_interfaces_empty[ELEMENTSOF(job_interfaces_empty) - 1];

        wire_text(w, XFERD_JOB_IFACE);
        wire_dict(w, e, n);
        for (size_t i = 0; i < ELEMENTSOF(job_interfaces_empty) - 1; i++) {
                bus_rows_align(w, 8);
                wire_text(w, job_interfaces_empty[i]);
                wire_dict(w, NULL, 0);
        }
        bus_rows_align(w, 8);
        bus_rows_u32(w, (uint32_t) strlen(last));
        bus_rows_put(w, last, strlen(last));
}

static int build_added_wire(sd_bus *bus, const char *path, const Job *j, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        uint64_t room = wire_first_key_room(strlen(path));
        char buffer[WIRE_BUFFER_SIZE];
        BusRows w = { .p = buffer, .offset = room - 4 };
        WireEntry e[JOB_ADDED_ENTRIES];
        size_t n = job_added_entries(j, e);
        int r;

        /* The interfaces' names and their dictionaries' lengths and padding: under 256 bytes. A
         * job with an error (never a new one) goes through sd-bus, which checks its name. */
        if (wire_bound(e, n) + 256 > sizeof buffer || j->error_name)
                return -E2BIG;
        wire_interfaces(&w, e, n);
        r = added_new(bus, path, &s);
        if (r >= 0)
                r = wire_fill_room(s, "sa{sv}", room, buffer, &w);
        if (r >= 0)
                r = sd_bus_message_open_container(s, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_close_container(s);
        if (r >= 0)
                r = wire_entry_close(s);  /* the entry, the array */
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* The same through sd-bus, in the same order: what the tests compare it with. */
static int build_added_sdbus(sd_bus *bus, const char *path, const Job *j, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        WireEntry e[JOB_ADDED_ENTRIES];
        size_t n = job_added_entries(j, e);
        int r;

        r = added_new(bus, path, &s);
        if (r >= 0)
                r = wire_entry_open(s, "sa{sv}", XFERD_JOB_IFACE, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = wire_entry_open(s, "sv", e[i].name, 'v', (const char[]) { e[i].v.type, 0 });
                if (r >= 0)
                        /* A stored error name is not known text: checked by sd-bus. */
                        r = i == JOB_ADDED_ERROR_NAME && j->error_name ? sd_bus_message_append_basic(s, 's', j->error_name)
                            : e[i].v.type == 's' ? bus_append_known_text(s, e[i].v.s, NULL)
                                                 : sd_bus_message_append_basic(s, e[i].v.type,
                                                                             e[i].v.type == 't' ? (const void *) &e[i].v.n
                                                                                                : &(uint32_t) { (uint32_t) e[i].v.n });
                if (r >= 0)
                        r = wire_entry_close(s);
        }
        if (r >= 0)
                r = wire_entry_close(s);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(job_interfaces_empty); i++) {
                r = wire_entry_open(s, "sa{sv}", job_interfaces_empty[i], 'a', "{sv}");
                if (r >= 0)
                        r = wire_entry_close(s);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* InterfacesAdded is built here: sd-bus would put every property's value in it, names and
 * descriptions included, and this signal is broadcast. JobNew with append_basic (see
 * bus-job.c). */

int bus_job_added_new(sd_bus *bus, const char *path, const Job *j, sd_bus_message **ret) {
        int r;

        assert(bus);
        assert(path);
        assert(j);
        assert(ret);

        r = build_added_wire(bus, path, j, ret);
        if (r < 0) {
                /* -E2BIG: an id or a token longer than the daemon makes; anything else (no memory,
                 * a layout of sd-bus's the wire format does not expect): sd-bus builds it. */
                if (r != -E2BIG)
                        log_debug_errno(r, "InterfacesAdded of job %s not in the wire format, through sd-bus", j->id);
                return build_added_sdbus(bus, path, j, ret);
        }
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *x = NULL, *y = NULL;

                if (build_added_wire(bus, path, j, &x) < 0 || build_added_sdbus(bus, path, j, &y) < 0)
                        abort();
                wire_check_same("InterfacesAdded", x, y);
        }
        return 0;
}

int bus_job_added_out(Bus *b, const char *path, const Job *j) {
        static const BusOutField f[] = {
                { BUS_OUT_FIELD_PATH, 'o', XFERD_MANAGER_PATH, 0 },
                { BUS_OUT_FIELD_INTERFACE, 's', "org.freedesktop.DBus.ObjectManager", 0 },
                { BUS_OUT_FIELD_MEMBER, 's', "InterfacesAdded", 0 },
                { BUS_OUT_FIELD_SIGNATURE, 'g', "oa{sa{sv}}", 0 },
        };
        static BusOutFixed fixed = BUS_OUT_FIXED(f);
        WireEntry e[JOB_ADDED_ENTRIES];
        size_t n = job_added_entries(j, e);
        char *length_at;
        uint64_t start;
        uint32_t length;
        BusRows w;
        int r;

        assert(b);
        assert(path);
        assert(j);

        if (j->error_name)  /* never a new job's: through sd-bus, which checks its name */
                return -ENOBUFS;
        /* The path, the array's length and padding, the interfaces' names and their
         * dictionaries' lengths and padding: under 256 bytes beside the path and the entries. */
        r = bus_out_begin(b, SD_BUS_MESSAGE_SIGNAL, &fixed, NULL, 0, 8 + strlen(path) + 256 + wire_bound(e, n), &w);
        if (r < 0)
                return r;
        wire_text(&w, path);
        bus_rows_align(&w, 4);
        length_at = w.p;
        bus_rows_u32(&w, 0);
        bus_rows_align(&w, 8);
        start = w.offset;
        bus_rows_align(&w, 8);
        wire_text(&w, XFERD_JOB_IFACE);
        wire_dict(&w, e, n);
        for (size_t i = 0; i < ELEMENTSOF(job_interfaces_empty); i++) {
                bus_rows_align(&w, 8);
                wire_text(&w, job_interfaces_empty[i]);
                wire_dict(&w, NULL, 0);
        }
        length = (uint32_t) (w.offset - start);
        memcpy(length_at, &length, sizeof length);
        bus_out_end(b, &w);
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                if (build_added_sdbus(b->bus, path, j, &m) < 0)
                        abort();
                bus_out_check_last(b, "InterfacesAdded", m);
        }
        return 0;
}
