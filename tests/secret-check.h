/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * URLs that carry credentials, and the checks that xferd shows none of them: a user name, a
 * password and a query token that must appear in no error reply, property, signal or log
 * line (the contract's rule: a URL xferd shows has no user, password, query or fragment).
 */
#pragma once

#include <glib.h>

#include "bus-fixture.h"
#include "xferd-process.h"

G_BEGIN_DECLS

#define SECRET_USER "alice"
#define SECRET_PASSWORD "S3cr3t"
#define SECRET_TOKEN "T0k3nQu3ry"

/* "http://alice:S3cr3t@127.0.0.1:<port><path>?token=…&x=1#frag…" (transfer full). */
char *secret_url (guint16 port, const char *path);

/* Fails the test, naming what showed it, when text holds any of the three. */
void assert_no_secret (const char *what, const char *text);
/* Every property of a job (GetAll) holds none. */
void assert_job_shows_no_secret (BusFixture *fx, const char *job);
/* Every signal the fixture recorded so far holds none. */
void assert_signals_show_no_secret (BusFixture *fx);
/* Every line captured so far holds none, and at least one holds needle: the stripped form
 * of the URL is there, so the lines that were checked are the ones that name it. */
void assert_log_shows_no_secret (XferdLog *log, const char *needle);

G_END_DECLS
