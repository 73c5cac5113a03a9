/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What download and add may say about a file beyond its URL and path (--checksum, --size,
 * --mirror, --checksum-list, --checksum-list-signature), and how it goes into the a{sv}
 * options of Download and AddFileWithOptions. The daemon checks the values; xferctl only
 * parses what has a type of its own (the size). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

typedef struct FileOptions {
        char *checksum;
        bool has_size;
        uint64_t size;
        char **mirrors;                  /* NULL-terminated, in the order given */
        char *checksum_list;
        char *checksum_list_signature;
} FileOptions;

void file_options_done(FileOptions *o);
bool file_options_any(const FileOptions *o);

/* The option values as typed: a text option (checksum, checksum_list,
 * checksum_list_signature) into its field, replacing an earlier value; -EINVAL (reported) for
 * a bad --size. */
int file_options_set_text(char **field, const char *value);
int file_options_set_size(FileOptions *o, const char *value);
int file_options_add_mirror(FileOptions *o, const char *value);

/* How many dict entries file_options_append_file() adds. */
unsigned file_options_count(const FileOptions *o);
/* Appends the arguments of AddFileWithOptions to m: url, local, and the options as an a{sv}. */
int file_options_append_file(const FileOptions *o, sd_bus_message *m, const char *url, const char *local);
