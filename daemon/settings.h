/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* xferd.conf: "[Daemon]" and Key=Value lines. Unknown keys are warned about and skipped,
 * so a newer file does not stop an older daemon. */

#include <stdint.h>

#include "manager.h"

typedef struct DaemonSettings {
        uint64_t idle_timeout_usec;
        ManagerConfig manager;
} DaemonSettings;

/* Reads `path` into *s, leaving what the file does not set untouched. A missing file is
 * fine (returns 0); a malformed value is an error naming the file and line. */
int settings_load(const char *path, DaemonSettings *s);
