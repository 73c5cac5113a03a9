/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the xferctl tests share: an XferdEnv serving one generated file at
 * /file.bin, and running xferctl ($XFERCTL_BINARY) on its bus, with pipes or
 * on a terminal.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "pty-process.h"
#include "xferd-env.h"

G_BEGIN_DECLS

#define XFERCTL_SIZE (700 * 1024 + 3)

/* xferctl's exit statuses (xferctl(1)). */
enum {
        XFERCTL_EXIT_FAILURE = 1,
        XFERCTL_EXIT_USAGE = 2,
        XFERCTL_EXIT_UNREACHABLE = 3,
        XFERCTL_EXIT_TRANSFER = 4,
        XFERCTL_EXIT_INTEGRITY = 5,
        XFERCTL_EXIT_TIMEOUT = 6,
        XFERCTL_EXIT_RETRIES = 7,
        XFERCTL_EXIT_SIGINT = 130,
};

/* xferd_env_new_serving (options, "/file.bin", XFERCTL_SIZE). */
XferdEnv *xferctl_env_new (const BusFixtureOptions *options);

/* TRUE (and the test skipped) when XFERCTL_BINARY is not set. */
gboolean xferctl_skip (void);
/* The XferdEnvMake of the xferctl cases: xferctl_env_new (options, the setup), NULL when
 * xferctl_skip(). */
XferdEnv *xferctl_env_make (gconstpointer options);

/* Runs xferctl --user ARGS... (NULL-terminated), --system on a system-type bus; returns its exit
 * status. */
int xferctl_run (XferdEnv *env, char **out, char **err, ...) G_GNUC_NULL_TERMINATED;
/* The same with an argv array (without the binary and --user or --system). */
int xferctl_runv (XferdEnv *env, const char *const *args, char **out, char **err);
/* xferctl --user (or --system) ARGS... on a terminal cols wide. */
PtyProcess *xferctl_pty (XferdEnv *env, guint cols, ...) G_GNUC_NULL_TERMINATED;

/* Whether ListJobs (the caller's) is empty. */
gboolean xferctl_no_jobs (XferdEnv *env);

/* Parses text as JSON (asserting it is) and returns the root node. */
JsonNode *xferctl_parse_json (const char *text);

G_END_DECLS
