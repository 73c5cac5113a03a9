/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What `xferctl download` fetches and where to: the URLs given as arguments or listed in a
 * file (-i), and the destination (a PATH argument or -o). One URL goes to a file, or into a
 * directory under the last part of its URL; several go into one directory. */

#include <stddef.h>

typedef struct DownloadTarget {
        char *url;
        char *local;            /* absolute */
} DownloadTarget;

typedef struct DownloadPlan {
        DownloadTarget *targets;
        size_t n, allocated;
} DownloadPlan;

void download_plan_done(DownloadPlan *p);

/* The URLs of a list: one a line; blanks around them, empty lines and lines starting with #
 * are skipped. Appends to *urls (a NULL-terminated array). Returns 0 or -ENOMEM. */
int download_list_parse(const char *text, char ***urls, size_t *n);

/* Whether s looks like a URL (scheme://…) rather than a local path. */
int download_arg_is_url(const char *s);

/* From the positional arguments (URLs, and without -o an optional last PATH), the URLs of a
 * list and output (-o, NULL if not given). Reports what is wrong (not a URL, no URL, a URL
 * naming no file for a directory, two URLs onto one path) and returns -EINVAL then. */
int download_plan_make(char *const *args, size_t n_args, char *const *list, size_t n_list, const char *output,
                       DownloadPlan *ret);
