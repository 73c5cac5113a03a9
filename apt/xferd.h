/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The method's connection to xferd: the system bus (DBUS_SYSTEM_BUS_ADDRESS when set, as
 * sd-bus reads it), one first call that starts xferd by D-Bus activation and must be answered
 * within the start timeout, the signals of our jobs, and what this xferd offers. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "names.h"        /* xferctl's copy of the API's names */

typedef enum XferdState {
        XFERD_CONNECTING,       /* the first call is on its way */
        XFERD_READY,
        XFERD_UNAVAILABLE,      /* for the rest of this run */
} XferdState;

/* What the running xferd offers beyond the first API, learnt from the introspection of the
 * first job we create. */
typedef struct XferdFeatures {
        bool owner_option_refused;      /* CreateJob took no "cancel-when-owner-gone" */
        bool known;
        bool add_file_with_options;     /* checksum verification by xferd */
        bool cost_policy;
        bool cancel_when_owner_gone;
} XferdFeatures;

typedef struct XferdHandlers {
        void (*ready)(void *userdata);
        void (*unavailable)(const char *why, void *userdata);
        /* A PropertiesChanged of a job object; m is positioned before its arguments. */
        void (*job_changed)(const char *path, sd_bus_message *m, void *userdata);
        /* xferd left the bus (it crashed or was stopped): the state of our jobs must be read
         * again, which starts it again. */
        void (*daemon_gone)(void *userdata);
} XferdHandlers;

typedef struct Xferd Xferd;

/* Connects and makes the first call; the handlers say how it went. */
int xferd_new(Xferd **ret, sd_event *e, uint64_t start_timeout_usec, const XferdHandlers *h, void *userdata);
Xferd *xferd_free(Xferd *x);
static inline void xferd_freep(Xferd **x) {
        xferd_free(*x);
}

XferdState xferd_state(const Xferd *x);
const char *xferd_unavailable_reason(const Xferd *x);
sd_bus *xferd_bus(const Xferd *x);
XferdFeatures *xferd_features(Xferd *x);
/* Fills the features from the introspection XML of a job object. */
void xferd_features_from_xml(XferdFeatures *f, const char *xml);
