/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network awareness (issue 5): a job in transient-error because the network
 * failed goes back to `queued` as soon as connectivity comes back (a new
 * address or route), not after its retry delay; a job that failed for another
 * reason keeps waiting.
 *
 * The test runs in a network namespace of its own (root only), so that it can
 * take 127.0.0.1 away and give it back: everything it starts (dbus-daemon,
 * xferd, the HTTP server's thread) lives in that namespace. Without the
 * address a connection fails at once ("Network"); adding it back is the
 * RTM_NEWADDR/RTM_NEWROUTE news xferd listens for. The retry delay is 600 s,
 * far beyond the wait for `transferred`, so only the news can explain it.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-fixture.h"
#include "http-server.h"
#include "peer.h"

#define SIZE (64 * 1024 + 3)

static gboolean have_netns;
static char netns_why[256];

static int
lo_ioctl (unsigned long request, struct ifreq *ifr)
{
        int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int r;

        if (fd < 0)
                return -errno;
        g_strlcpy (ifr->ifr_name, "lo", sizeof ifr->ifr_name);
        r = ioctl (fd, request, ifr) < 0 ? -errno : 0;
        close (fd);
        return r;
}

/* 127.0.0.1 on lo, or no IPv4 address at all (ifconfig's 0.0.0.0 removes it). */
static void
set_loopback_address (gboolean present)
{
        struct ifreq ifr = { 0 };
        struct sockaddr_in *sin = (struct sockaddr_in *) &ifr.ifr_addr;

        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = present ? htonl (INADDR_LOOPBACK) : htonl (INADDR_ANY);
        g_assert_cmpint (lo_ioctl (SIOCSIFADDR, &ifr), ==, 0);
}

/* A network namespace of our own with lo up, before any thread exists (the namespace
 * belongs to the calling thread and is inherited by what it starts). */
static void
enter_netns (void)
{
        struct ifreq ifr = { 0 };
        int r;

        if (geteuid () != 0) {
                g_snprintf (netns_why, sizeof netns_why, "needs root for a network namespace");
                return;
        }
        if (unshare (CLONE_NEWNET) < 0) {
                g_snprintf (netns_why, sizeof netns_why, "unshare(CLONE_NEWNET): %s", g_strerror (errno));
                return;
        }
        r = lo_ioctl (SIOCGIFFLAGS, &ifr);
        if (r == 0) {
                ifr.ifr_flags |= IFF_UP;
                r = lo_ioctl (SIOCSIFFLAGS, &ifr);
        }
        if (r < 0) {
                g_snprintf (netns_why, sizeof netns_why, "cannot bring lo up: %s", g_strerror (-r));
                return;
        }
        have_netns = TRUE;
}

static gboolean
skip_without_netns (void)
{
        if (have_netns)
                return FALSE;
        peer_skip_or_fail ("network tests cannot run: %s", netns_why);
        return TRUE;
}

static void
test_network_back (void)
{
        if (skip_without_netns ())
                return;

        g_autoptr(BusFixture) fx = bus_fixture_new (NULL);
        HttpServer *http = http_server_new ();
        /* Another server (port) for the busy job: its kept-alive connection must not be the
         * one the other job reuses, which would hang rather than fail once the address goes. */
        HttpServer *busy_http = http_server_new ();
        g_autoptr(GBytes) content = http_server_add_generated (http, "/net.bin", SIZE);
        g_autoptr(GBytes) other = http_server_add_generated (busy_http, "/busy.bin", SIZE);
        g_autofree char *dir = bus_fixture_mkdir (fx, "dl");
        g_autofree char *dest = g_build_filename (dir, "net.bin", NULL);
        g_autofree char *busy_dest = g_build_filename (dir, "busy.bin", NULL);
        g_autofree char *url = http_server_url (http, "/net.bin");
        g_autofree char *busy_url = http_server_url (busy_http, "/busy.bin");

        /* A server that is busy: transient, but not the network's fault. */
        http_server_fail (busy_http, "/busy.bin", 503, NULL, -1, HTTP_SERVER_FOREVER);
        g_autofree char *busy = xferd_start_job (fx, "network", busy_url, busy_dest, 600);
        job_wait_state (fx, busy, "transient-error");

        /* No address: the connection fails at once. */
        set_loopback_address (FALSE);
        g_autofree char *job = xferd_start_job (fx, "network", url, dest, 600);
        job_wait_state (fx, job, "transient-error");
        /* Also the barrier that makes the next step race-free: this reply comes after the
         * dispatch in which xferd opened its netlink socket (with the state change), so the
         * news below cannot reach it before it listens. */
        job_assert_error (fx, job, "Network", NULL);
        g_assert_cmpuint (http_server_request_count (http, "/net.bin"), ==, 0);

        /* The address comes back: the job tries again now, not in 600 s. */
        set_loopback_address (TRUE);
        job_wait_state (fx, job, "transferred");
        g_assert_cmpuint (http_server_request_count (http, "/net.bin"), ==, 1);
        g_assert_false (xferd_complete (fx, job));
        assert_file_content (dest, content);

        /* The same news left the busy server's job alone: it was looked at in the same pass
         * that retried the other one. */
        assert_job_string (fx, busy, "State", "transient-error");
        job_assert_error (fx, busy, "Http", NULL);
        g_assert_cmpuint (http_server_request_count (busy_http, "/busy.bin"), ==, 1);

        xferd_job_call (fx, busy, "Cancel");
        http_server_free (busy_http);
        http_server_free (http);
}

int
main (int argc, char *argv[])
{
        enter_netns ();
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/network/back", test_network_back);
        return g_test_run ();
}
