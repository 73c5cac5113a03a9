/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's PropertiesChanged: the values of the properties a change names, from the job vtable's
 * own entries; written in D-Bus's wire format whole into a closing batch's buffer (bus-out.h),
 * or its dictionary into an sd-bus message (bus-wire.h), or through sd-bus. */
#include <stdlib.h>

#include "bus-out.h"
#include "bus-rows.h"
#include "bus-wire.h"
#include "bus.h"
#include "log.h"

/* ---- signals -------------------------------------------------------------------------- */

/* PropertiesChanged of a job is built here from the job vtable's own entries:
 * sd_bus_emit_properties_changed_strv() looks every name up in sd-bus's hash tables (hashing
 * the path, interface and name, for the path and each of its prefixes), which took 40 % of the
 * daemon's instructions for 300 small downloads, more than the values themselves. The entry
 * of each name the observer uses (a literal) is found once and remembered by its address. */

/* The properties a state change names that stay zero or empty for most jobs (no error, no
 * retry, nothing from a cache, not transferred yet): one whose value is zero and was zero when
 * the job's last signal carried it did not change, and is left out (an entry of a{sv} costs
 * about 3 000 instructions in sd-bus; these were a third of a small download's). One bit each
 * in Job.zero_told: a loaded job has none, so its first signal carries them; a new job's
 * InterfacesAdded carries them all (bus_job_zero_told_all()). */
typedef enum ZeroProperty {
        ZERO_TRANSFER_COMPLETION_TIME,
        ZERO_ERROR_NAME,
        ZERO_ERROR_MESSAGE,
        ZERO_ERROR_COUNT,
        ZERO_NEXT_RETRY_TIME,
        ZERO_BYTES_FROM_CACHE,
        ZERO_BYTES_FROM_ORIGIN,
        _ZERO_PROPERTY_MAX,
        _ZERO_PROPERTY_NONE = -1,
} ZeroProperty;

static const char *const zero_property_names[_ZERO_PROPERTY_MAX] = {
        [ZERO_TRANSFER_COMPLETION_TIME] = "TransferCompletionTime",
        [ZERO_ERROR_NAME] = "ErrorName",
        [ZERO_ERROR_MESSAGE] = "ErrorMessage",
        [ZERO_ERROR_COUNT] = "ErrorCount",
        [ZERO_NEXT_RETRY_TIME] = "NextRetryTime",
        [ZERO_BYTES_FROM_CACHE] = "BytesFromCache",
        [ZERO_BYTES_FROM_ORIGIN] = "BytesFromOrigin",
};

_Static_assert(_ZERO_PROPERTY_MAX <= 8, "Job.zero_told has 8 bits");

/* Whether the property's value, as its getter gives it, is zero or empty. */
static bool zero_property_is_zero(const Job *j, ZeroProperty p) {
        switch (p) {
        case ZERO_TRANSFER_COMPLETION_TIME:
                return j->completion_time == 0;
        case ZERO_ERROR_NAME:
                return !j->error_name;
        case ZERO_ERROR_MESSAGE:
                return isempty(j->error_message);
        case ZERO_ERROR_COUNT:
                return j->error_count == 0;
        case ZERO_NEXT_RETRY_TIME:
                return job_next_retry_time(j) == 0;
        case ZERO_BYTES_FROM_CACHE:
                return j->bytes_from_cache == 0;
        case ZERO_BYTES_FROM_ORIGIN:
                return j->bytes_from_origin == 0;
        default:
                return false;
        }
}

uint8_t bus_job_zero_told_all(const Job *j) {
        uint8_t told = 0;

        assert(j);

        /* ErrorMessage is announced only as invalidated, which InterfacesAdded cannot say: the
         * job's first state change names it. */
        for (ZeroProperty p = 0; p < _ZERO_PROPERTY_MAX; p++)
                if (p != ZERO_ERROR_MESSAGE && zero_property_is_zero(j, p))
                        told |= (uint8_t) (1u << p);
        return told;
}

/* The properties whose values the signals write in D-Bus's wire format themselves (below), by
 * the getter's function in bus-job.c they stand for; a property read from the Job at an offset
 * (a number) needs none. The others go through sd-bus. */
typedef enum WireProperty {
        WIRE_NONE,
        WIRE_AT_OFFSET,
        WIRE_STATE,
        WIRE_WAIT_REASON,
        WIRE_ERROR_NAME,        /* "" only: a stored name is not known text */
        WIRE_NEXT_RETRY_TIME,
        WIRE_BYTES_TRANSFERRED,
        WIRE_BYTES_TOTAL,
        WIRE_FILES_TRANSFERRED,
        WIRE_FILES_TOTAL,
        WIRE_CURRENT_FILE,
        WIRE_RATE,
        WIRE_EXPECTED_END_TIME,
        _WIRE_PROPERTY_MAX,
} WireProperty;

static const char *const wire_property_names[_WIRE_PROPERTY_MAX] = {
        [WIRE_STATE] = "State",
        [WIRE_WAIT_REASON] = "WaitReason",
        [WIRE_ERROR_NAME] = "ErrorName",
        [WIRE_NEXT_RETRY_TIME] = "NextRetryTime",
        [WIRE_BYTES_TRANSFERRED] = "BytesTransferred",
        [WIRE_BYTES_TOTAL] = "BytesTotal",
        [WIRE_FILES_TRANSFERRED] = "FilesTransferred",
        [WIRE_FILES_TOTAL] = "FilesTotal",
        [WIRE_CURRENT_FILE] = "CurrentFile",
        [WIRE_RATE] = "Rate",
        [WIRE_EXPECTED_END_TIME] = "ExpectedEndTime",
};

typedef struct JobPropertyEntry {
        const char *name;
        const sd_bus_vtable *v;
        ZeroProperty zero;      /* which of the above, or _ZERO_PROPERTY_NONE */
        WireProperty wire;
} JobPropertyEntry;

static const JobPropertyEntry *job_property(const char *name) {
        static JobPropertyEntry known[64];
        static size_t n_known = 0;
        /* Where each name was found last, by its address: a new job's signal names 17, which a
         * walk of the known ones took 2 000 instructions to find. */
        static const JobPropertyEntry *hint[128];
        size_t h = ((uintptr_t) name >> 3) % ELEMENTSOF(hint);
        ZeroProperty zero = _ZERO_PROPERTY_NONE;
        WireProperty wire = WIRE_NONE;

        if (hint[h] && hint[h]->name == name)
                return hint[h];
        for (size_t i = 0; i < n_known; i++)
                if (known[i].name == name)
                        return hint[h] = &known[i];
        for (ZeroProperty p = 0; p < _ZERO_PROPERTY_MAX; p++)
                if (streq(zero_property_names[p], name))
                        zero = p;
        for (WireProperty p = 0; p < _WIRE_PROPERTY_MAX; p++)
                if (wire_property_names[p] && streq(wire_property_names[p], name))
                        wire = p;
        for (const sd_bus_vtable *v = bus_job_vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if ((v->type == _SD_BUS_VTABLE_PROPERTY || v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY) &&
                    streq(v->x.property.member, name)) {
                        const char *sig = v->x.property.signature;

                        if (n_known >= ELEMENTSOF(known))
                                return NULL;  /* never: the observer names fewer */
                        if (!v->x.property.get && (streq(sig, "t") || streq(sig, "u")))
                                wire = WIRE_AT_OFFSET;
                        known[n_known] = (JobPropertyEntry) { .name = name, .v = v, .zero = zero, .wire = wire };
                        return hint[h] = &known[n_known++];
                }
        return NULL;
}

/* What sd-bus would append for the property: its getter's value, or for a property read from
 * the Job at an offset, the fixed-size value there (the only such ones that announce a value). */
static int append_job_property(sd_bus *bus, sd_bus_message *m, const char *path, const sd_bus_vtable *v, Job *j,
                               sd_bus_error *error) {
        const char *sig = v->x.property.signature;
        int r;

        if (!v->x.property.get && !(streq(sig, "t") || streq(sig, "u")))
                return -EOPNOTSUPP;
        r = wire_entry_open(m, "sv", v->x.property.member, 'v', sig);
        if (r >= 0)
                /* As sd-bus does: a getter gets the object's data plus the entry's offset. */
                r = v->x.property.get ? v->x.property.get(bus, path, XFERD_JOB_IFACE, v->x.property.member, m,
                                                          (uint8_t *) j + v->x.property.offset, error)
                                      : sd_bus_message_append_basic(m, sig[0], (uint8_t *) j + v->x.property.offset);
        return r < 0 ? r : wire_entry_close(m);
}

/* ---- signals in D-Bus's wire format ---------------------------------------------------- */

/* sd-bus appends a value of a{sv} in about 3 000 instructions (the entry, the variant, their
 * signatures checked and copied, the body grown a field at a time): a new job's PropertiesChanged
 * and InterfacesAdded were half of what xferd spent on a Download call. Their dictionaries are
 * written here instead into the room sd-bus gives their first key (bus-rows.h), as ListJobs' rows
 * are; sd-bus appends the last entry's value and closes them. They are written in one pass into a
 * buffer on the stack, copied into the room once sd-bus gives it (a measuring pass cost as much as
 * the writing). Only what is known to be valid goes this way: numbers, and the daemon's own ASCII
 * (property and interface names, tokens, ids). */

/* The property's value as its getter (or sd-bus, at an offset) gives it; false when it is not
 * written here (the caller uses sd-bus). */
static bool job_property_wire(const JobPropertyEntry *e, const Job *j, WireValue *ret) {
        const char *sig = e->v->x.property.signature;
        const uint8_t *at = (const uint8_t *) j + e->v->x.property.offset;

        switch (e->wire) {
        case WIRE_AT_OFFSET:
                if (sig[0] == 't') {
                        uint64_t v;
                        memcpy(&v, at, sizeof v);
                        *ret = (WireValue) { .type = 't', .n = v };
                } else {
                        uint32_t v;
                        memcpy(&v, at, sizeof v);
                        *ret = (WireValue) { .type = 'u', .n = v };
                }
                return true;
        case WIRE_STATE:
                *ret = (WireValue) { .type = 's', .s = job_state_to_string(j->state) };
                return true;
        case WIRE_WAIT_REASON:
                *ret = (WireValue) { .type = 's', .s = job_wait_reason(j) };
                return true;
        case WIRE_ERROR_NAME:
                *ret = (WireValue) { .type = 's', .s = "" };
                return !j->error_name;
        case WIRE_NEXT_RETRY_TIME:
                *ret = (WireValue) { .type = 't', .n = job_next_retry_time(j) };
                return true;
        case WIRE_BYTES_TRANSFERRED:
                *ret = (WireValue) { .type = 't', .n = job_counts(j).bytes_transferred };
                return true;
        case WIRE_BYTES_TOTAL:
                *ret = (WireValue) { .type = 't', .n = job_counts(j).bytes_total };
                return true;
        case WIRE_FILES_TRANSFERRED:
                *ret = (WireValue) { .type = 'u', .n = job_counts(j).files_transferred };
                return true;
        case WIRE_FILES_TOTAL:
                *ret = (WireValue) { .type = 'u', .n = (uint32_t) j->n_files };
                return true;
        case WIRE_CURRENT_FILE:
                *ret = (WireValue) { .type = 'u', .n = job_current_file(j) };
                return true;
        case WIRE_RATE:
                *ret = (WireValue) { .type = 't', .n = job_rate(j) };
                return true;
        case WIRE_EXPECTED_END_TIME:
                *ret = (WireValue) { .type = 't', .n = job_expected_end_time(j) };
                return true;
        default:
                return false;
        }
}

/* PropertiesChanged's last argument: the names of the properties announced without their
 * values. */
static int append_invalidated(sd_bus_message *m, const char *const *invalidated, size_t n) {
        int r = sd_bus_message_open_container(m, 'a', "s");

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = bus_append_known_text(m, invalidated[i], NULL);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* PropertiesChanged of the job interface with the n (≥ 1) entries, and the names invalidated. */
static int build_changed_wire(sd_bus *bus, const char *path, const WireEntry *e, size_t n, const char *const *invalidated,
                              size_t n_invalidated, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint64_t room = wire_first_key_room(strlen(XFERD_JOB_IFACE));
        char buffer[WIRE_BUFFER_SIZE];
        BusRows w = { .p = buffer, .offset = room - 4 };
        int r;

        if (wire_bound(e, n) > sizeof buffer)
                return -E2BIG;
        wire_entries(&w, e, n);
        r = sd_bus_message_new_signal(bus, &m, path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        if (r >= 0)
                r = bus_append_known_text(m, XFERD_JOB_IFACE, NULL);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = wire_fill_room(m, "sv", room, buffer, &w);
        if (r >= 0)
                r = wire_append_value(m, &e[n - 1].v);
        if (r >= 0)
                r = wire_entry_close(m);  /* the entry, the array */
        if (r >= 0)
                r = append_invalidated(m, invalidated, n_invalidated);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* The signal through sd-bus: the entries' values by the vtable's getters. */
static int build_changed_sdbus(sd_bus *bus, const char *path, Job *j, const JobPropertyEntry *const *entries, size_t n,
                               const char *const *invalidated, size_t n_invalidated, sd_bus_message **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &m, path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
        if (r >= 0)
                r = bus_append_known_text(m, XFERD_JOB_IFACE, NULL);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_job_property(bus, m, path, entries[i]->v, j, &error);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = append_invalidated(m, invalidated, n_invalidated);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* What a PropertiesChanged of a job carries: the entries with their values (in the wire format
 * when every one can be), the names invalidated, and the job's zero_told once it is sent. */
typedef struct Changed {
        const JobPropertyEntry *entries[40];
        WireEntry wire[40];
        const char *invalidated[40];
        size_t n, n_invalidated;
        uint8_t zero_told;
        bool as_wire;
} Changed;

static int changed_collect(Job *j, char **names, Changed *c) {
        c->n = c->n_invalidated = 0;
        c->zero_told = j->zero_told;
        c->as_wire = true;

        for (char **name = names; *name; name++) {
                const JobPropertyEntry *e = job_property(*name);
                const sd_bus_vtable *v;

                if (!e)
                        return -ENOENT;
                if (e->zero != _ZERO_PROPERTY_NONE) {
                        uint8_t bit = (uint8_t) (1u << e->zero);

                        if (!zero_property_is_zero(j, e->zero))
                                c->zero_told &= (uint8_t) ~bit;
                        else if (c->zero_told & bit)
                                continue;  /* zero, as last told: unchanged */
                        else
                                c->zero_told |= bit;
                }
                v = e->v;
                if (v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION) {
                        if (c->n_invalidated >= ELEMENTSOF(c->invalidated))
                                return -E2BIG;
                        c->invalidated[c->n_invalidated++] = *name;
                } else if (v->flags & SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE) {
                        if (c->n >= ELEMENTSOF(c->entries))
                                return -E2BIG;
                        if (c->as_wire)
                                c->as_wire = job_property_wire(e, j, &c->wire[c->n].v);
                        c->wire[c->n].name = *name;
                        c->entries[c->n++] = e;
                } else
                        return -EOPNOTSUPP;
        }
        c->as_wire = c->as_wire && c->n > 0;
        return 0;
}

/* The signal as an sd-bus message: written in the wire format when every value it carries can
 * be, else through sd-bus. */
static int build_changed(sd_bus *bus, const char *path, Job *j, const Changed *c, sd_bus_message **ret) {
        int r;

        r = c->as_wire ? build_changed_wire(bus, path, c->wire, c->n, c->invalidated, c->n_invalidated, ret) : -E2BIG;
        if (r < 0) {
                /* -E2BIG: not for the wire format, or larger than its buffer (never for the daemon's
                 * own values); anything else (no memory, a layout of sd-bus's the wire format does
                 * not expect): sd-bus builds it. */
                if (r != -E2BIG)
                        log_debug_errno(r, "PropertiesChanged of job %s not in the wire format, through sd-bus",
                                        j->id);
                return build_changed_sdbus(bus, path, j, c->entries, c->n, c->invalidated, c->n_invalidated, ret);
        }
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *a = NULL, *b = NULL;

                if (build_changed_wire(bus, path, c->wire, c->n, c->invalidated, c->n_invalidated, &a) < 0 ||
                    build_changed_sdbus(bus, path, j, c->entries, c->n, c->invalidated, c->n_invalidated, &b) < 0)
                        abort();
                wire_check_same("PropertiesChanged", a, b);
        }
        return 0;
}

/* The signal whole into the batch's buffer (bus-out.h); -ENOBUFS when it does not go there. */
static int out_changed(Bus *b, const char *path, Job *j, const Changed *c) {
        static const BusOutField same[] = {
                { BUS_OUT_FIELD_INTERFACE, 's', "org.freedesktop.DBus.Properties", 0 },
                { BUS_OUT_FIELD_MEMBER, 's', "PropertiesChanged", 0 },
                { BUS_OUT_FIELD_SIGNATURE, 'g', "sa{sv}as", 0 },
        };
        static BusOutFixed fixed = BUS_OUT_FIXED(same);
        const BusOutField f[] = { { BUS_OUT_FIELD_PATH, 'o', path, 0 } };
        size_t bound = 8 + sizeof XFERD_JOB_IFACE + 8 + wire_bound(c->wire, c->n) + 8;
        char *length_at;
        uint64_t start;
        uint32_t length;
        BusRows w;
        int r;

        for (size_t i = 0; i < c->n_invalidated; i++)
                bound += 8 + strlen(c->invalidated[i]);
        r = bus_out_begin(b, SD_BUS_MESSAGE_SIGNAL, &fixed, f, ELEMENTSOF(f), bound, &w);
        if (r < 0)
                return r;
        wire_text(&w, XFERD_JOB_IFACE);
        wire_dict(&w, c->wire, c->n);
        bus_rows_align(&w, 4);
        length_at = w.p;
        bus_rows_u32(&w, 0);
        start = w.offset;
        for (size_t i = 0; i < c->n_invalidated; i++)
                wire_text(&w, c->invalidated[i]);
        length = (uint32_t) (w.offset - start);
        memcpy(length_at, &length, sizeof length);
        bus_out_end(b, &w);
        if (wire_check_enabled()) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                if (build_changed_sdbus(b->bus, path, j, c->entries, c->n, c->invalidated, c->n_invalidated, &m) < 0)
                        abort();
                bus_out_check_last(b, "PropertiesChanged", m);
        }
        return 0;
}

void bus_job_changed_emit(Bus *b, Job *j, char **names) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        BusJobPath path = bus_job_path(j);
        uint8_t zero_told = 0;
        Changed c;
        int r;

        assert(b);
        assert(j);
        assert(names);

        r = changed_collect(j, names, &c);
        if (r >= 0 && c.as_wire && out_changed(b, path.s, j, &c) >= 0) {
                j->zero_told = c.zero_told;
                return;
        }
        /* Through sd-bus: after what the batch's buffer holds. */
        bus_out_flush(b);
        if (r >= 0)
                r = build_changed(b->bus, path.s, j, &c, &m);
        if (r >= 0) {
                zero_told = c.zero_told;
                r = sd_bus_send(b->bus, m, NULL);
        } else  /* a property this does not know how to announce: sd-bus's own way, every name */
                r = sd_bus_emit_properties_changed_strv(b->bus, path.s, XFERD_JOB_IFACE, names);
        /* Not sent: the next signal carries them all again. */
        j->zero_told = r >= 0 ? zero_told : 0;
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for job %s", j->id);
}
