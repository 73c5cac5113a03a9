/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the xferctl tests share: a bus fixture with the real xferd, a test
 * HTTP server with one generated file, a download directory, and running
 * xferctl ($XFERCTL_BINARY) on that bus, with pipes or on a terminal.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "bus-fixture.h"
#include "http-server.h"
#include "pty-process.h"

G_BEGIN_DECLS

#define XFERCTL_SIZE (700 * 1024 + 3)

/* xferctl's exit statuses (xferctl(1)). */
enum {
        XFERCTL_EXIT_FAILURE = 1,
        XFERCTL_EXIT_USAGE = 2,
        XFERCTL_EXIT_UNREACHABLE = 3,
        XFERCTL_EXIT_TRANSFER = 4,
        XFERCTL_EXIT_TIMEOUT = 6,
        XFERCTL_EXIT_RETRIES = 7,
        XFERCTL_EXIT_SIGINT = 130,
};

typedef struct {
        BusFixture *fx;
        HttpServer *http;
        char *dir;
        char *dest;             /* dir/file.bin */
        char *url;              /* /file.bin, XFERCTL_SIZE bytes */
        GBytes *content;
} XferctlEnv;

/* options may be NULL. */
XferctlEnv *xferctl_env_new (const BusFixtureOptions *options);
void xferctl_env_free (XferctlEnv *env);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (XferctlEnv, xferctl_env_free)

/* TRUE (and the test skipped) when XFERCTL_BINARY is not set. */
gboolean xferctl_skip (void);

/* Runs xferctl --user ARGS... (NULL-terminated); returns its exit status. */
int xferctl_run (XferctlEnv *env, char **out, char **err, ...) G_GNUC_NULL_TERMINATED;
/* The same with an argv array (without the binary and --user). */
int xferctl_runv (XferctlEnv *env, const char *const *args, char **out, char **err);
/* xferctl --user ARGS... on a terminal cols wide. */
PtyProcess *xferctl_pty (XferctlEnv *env, guint cols, ...) G_GNUC_NULL_TERMINATED;

/* Whether ListJobs (the caller's) is empty. */
gboolean xferctl_no_jobs (XferctlEnv *env);

/* Parses text as JSON (asserting it is) and returns the root node. */
JsonNode *xferctl_parse_json (const char *text);

G_END_DECLS
