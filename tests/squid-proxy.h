/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Debian's squid as a subprocess of a test: the cache of the fleet tests and
 * a proxy that may require Basic authentication. Never the machine's squid
 * service: every instance runs in the foreground (squid -N) on a free port of
 * 127.0.0.1 with its own configuration, cache directory, pid file and logs in
 * a directory of its own, and is SIGKILLed when the test ends, also when it
 * aborts.
 *
 * The configuration is the site configuration of docs/fleet/squid.conf
 * (included as it is, so the tests check what the documentation tells sites
 * to run) plus what a test needs around it: the port, the directories, access
 * for 127.0.0.1 (CONNECT to any port too: the https origins of the tests are
 * on ephemeral ports) and, when asked, Basic authentication with
 * basic_ncsa_auth and a password file made with openssl.
 *
 * When squid cannot run here, squid_proxy_new() skips the test, or fails it
 * when CI=true, and returns NULL.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct SquidProxy SquidProxy;

typedef struct {
        /* Require Basic authentication with this user and password. */
        const char *user;
        const char *password;
} SquidOptions;

/* Starts squid (options may be NULL) and waits until it accepts connections.
 * NULL when squid cannot run here: the test is marked skipped (failed under
 * CI=true) and must return. Fails the test when squid is there but does not
 * start. */
SquidProxy *squid_proxy_new (const SquidOptions *options);
/* SIGKILLs squid if it runs, removes its directory, frees. */
void squid_proxy_free (SquidProxy *squid);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SquidProxy, squid_proxy_free)

guint16 squid_proxy_port (SquidProxy *squid);
/* "127.0.0.1:PORT", for CacheHost=. */
const char *squid_proxy_host (SquidProxy *squid);
/* "http://127.0.0.1:PORT", for Proxy= and http_proxy. */
const char *squid_proxy_url (SquidProxy *squid);

/* Sends signo and waits for squid to end: SIGTERM stops it in an orderly way
 * (its cache index written), SIGKILL as a crash (open connections reset). */
void squid_proxy_stop (SquidProxy *squid, int signo);
/* Starts it again on the same port with the same cache. */
void squid_proxy_restart (SquidProxy *squid);
/* SIGSTOP / SIGCONT: frozen, squid keeps its connections open but moves no
 * byte (the kernel still accepts new connections for it). squid_proxy_freeze()
 * returns once the process is stopped. */
void squid_proxy_freeze (SquidProxy *squid);
void squid_proxy_thaw (SquidProxy *squid);

/* The access log so far (transfer full): one line a request, e.g.
 * "... TCP_MISS/200 33554766 GET http://127.0.0.1:4242/f - HIER_DIRECT/127.0.0.1 ...". */
char *squid_proxy_access_log (SquidProxy *squid);
/* Lines of the access log that contain needle. */
guint squid_proxy_count_requests (SquidProxy *squid, const char *needle);
/* Waits until the access log has n such lines (squid writes a line when a
 * request ends); FALSE on timeout. */
gboolean squid_proxy_wait_requests (SquidProxy *squid, const char *needle, guint n, guint timeout_ms);
/* Squid's own log (cache.log) so far, for messages. */
char *squid_proxy_cache_log (SquidProxy *squid);

G_END_DECLS
