/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* ListFiles' reply (docs/api.md), its element written by the bus layer and read by xferctl and
 * the apt method: one signature, one reader. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* One element of ListFiles' a(sssttb). */
#define LISTED_FILE_SIGNATURE "(sssttb)"

/* One file of the reply; the strings are the message's. */
typedef struct ListedFile {
        const char *url;
        const char *local_path;
        const char *temporary_path;
        uint64_t bytes_total;           /* UINT64_MAX: not known yet */
        uint64_t bytes_transferred;
        bool completed;
} ListedFile;

/* Enters the array of a ListFiles reply. 0, or a negative errno. */
int listed_file_enter(sd_bus_message *reply);
/* The next file into *ret: 1, 0 after the last, or a negative errno. */
int listed_file_next(sd_bus_message *reply, ListedFile *ret);
