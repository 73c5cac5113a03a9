/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tus reference server (tus-node-server with its FileStore, see
 * tests/tus/server.mjs) as a subprocess of a test, for the upload tests.
 *
 * Found through the environment meson sets: NODE (the node binary, empty when
 * meson found none) and XFERD_TUS_SERVER (tests/tus/server.mjs; its
 * node_modules/ comes from `npm ci` in tests/tus, see scripts/setup-deps.sh).
 * When it cannot run here, tus_server_new() skips the test, or fails it when
 * CI=true: CI must never pass by skipping the upload tests.
 *
 * The server may be stopped (SIGTERM, SIGKILL) and started again on the same
 * port with the same upload directory. It logs every request and how many
 * body bytes each one added to an upload, across restarts, so a test can
 * count the bytes that reached the server. With a pause point it stops
 * reading an upload's body at that byte offset (see server.mjs), so "in the
 * middle of an upload" is a byte count a test waits for, never a timing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct TusServer TusServer;

/* No pause point. */
#define TUS_NO_PAUSE G_MAXUINT64

/* Starts the server on a free port of 127.0.0.1, storing uploads in
 * workdir/uploads and logging to workdir/server.log (workdir must exist).
 * Returns NULL when the reference server cannot run here; the test is then
 * marked skipped, or failed when CI=true, and must return at once. pause_at:
 * the pause point of this run (TUS_NO_PAUSE for none). */
TusServer *tus_server_new (const char *workdir, guint64 pause_at);
/* The same, the server answering a creation with a relative Location ("/files/ID", which
 * xferd resolves against the creation URL) in this run and every restart. */
TusServer *tus_server_new_relative (const char *workdir, guint64 pause_at);
/* Stops the server (SIGKILL) if it runs and frees it. */
void tus_server_free (TusServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TusServer, tus_server_free)

/* Sends signo (SIGTERM: the server logs what is in flight and exits;
 * SIGKILL) and waits for the process to end. */
void tus_server_stop (TusServer *server, int signo);
/* Starts it again on the same port and directory (asserts that it starts);
 * pause_at as for tus_server_new(). */
void tus_server_restart (TusServer *server, guint64 pause_at);
/* Sends a signal to the running server: SIGUSR1 lets paused bodies go on
 * and ends pausing; SIGSTOP/SIGCONT freeze and thaw it (the kernel still
 * accepts connections meanwhile, nothing answers them). */
void tus_server_signal (TusServer *server, int signo);

guint16 tus_server_get_port (TusServer *server);
/* The creation endpoint, "http://127.0.0.1:PORT/files/". */
const char *tus_server_endpoint (TusServer *server);
const char *tus_server_upload_dir (TusServer *server);
/* Where the server keeps the bytes of upload id, and its info file. */
char *tus_server_data_path (TusServer *server, const char *id);
char *tus_server_info_path (TusServer *server, const char *id);
/* The names in the upload directory that belong to upload id. */
guint tus_server_count_files_of (TusServer *server, const char *id);
/* Polls (10 ms) until the upload directory holds no file of id. */
gboolean tus_server_wait_upload_gone (TusServer *server, const char *id, guint timeout_ms);
/* Waits until the upload id is paused at its pause point with every byte
 * before it on disk (the data file holds exactly pause_at bytes). */
gboolean tus_server_wait_paused (TusServer *server, const char *id, guint64 pause_at,
                                 guint timeout_ms);

/* ----------------------------------------------------------- the log */

/* One request body that ended (a WRITE line of the log). */
typedef struct {
        guint run;            /* 1 for the first start, 2 after the first restart, ... */
        guint64 offset;       /* upload offset the body started at */
        guint64 received;     /* bytes it added to the upload */
        char *how;            /* complete, dropped, error, stopped */
} TusWrite;

/* The WRITE lines of upload id, in order (TusWrite, freed with the array). */
GPtrArray *tus_server_writes (TusServer *server, const char *id);
/* Sum of received over tus_server_writes(). */
guint64 tus_server_bytes_received (TusServer *server, const char *id);
/* Number of responses logged for method and path with status (0 = any
 * status) in run (0 = any run). */
guint tus_server_count_requests (TusServer *server, guint run, const char *method,
                                 const char *path, guint status);
/* Polls until tus_server_count_requests() >= n. */
gboolean tus_server_wait_requests (TusServer *server, guint run, const char *method,
                                   const char *path, guint status, guint n, guint timeout_ms);
/* The whole log so far (transfer full), for messages. */
char *tus_server_log (TusServer *server);
/* The current run number (1 for the first start). */
guint tus_server_run (TusServer *server);

/* The upload id: the last path element of an upload URL. */
const char *tus_upload_id (const char *upload_url);

G_END_DECLS
