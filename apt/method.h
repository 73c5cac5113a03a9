/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The method process: apt's pipe, the configuration, the connection to xferd and the
 * acquires in flight. */

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "list.h"
#include "message.h"
#include "settings.h"
#include "xferd.h"

typedef struct Acquire Acquire;

typedef struct Method {
        sd_event *event;
        const char *binary;     /* "xferd+http" or "xferd+https" */
        Settings settings;
        bool configured;
        MessageReader reader;
        sd_event_source *input;
        sd_event_source *exit_timer;
        Xferd *xferd;
        List acquires;          /* in the order apt sent them */
        bool shutting_down;
        bool apt_gone;          /* stdout is closed: nothing more to tell */
        int exit_status;
} Method;

/* Sends a finished message to apt; a closed pipe starts the shutdown. */
void method_send(Method *m, MessageOut *o);
/* A line on stderr when Debug::Acquire::xferd is set. */
void method_debug(Method *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The acquire is finished and freed: exits once the last one is gone during a shutdown. */
void method_acquire_gone(Method *m);
