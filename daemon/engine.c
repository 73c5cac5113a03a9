/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "log.h"
#include "progress-rule.h"
#include "util.h"

/* A socket as the engine knows it, by its descriptor. */
typedef struct EngineSocket {
        bool ours;                      /* a connection's, opened and closed through the callbacks
                                         * below: it is never closed behind the engine's back */
        sd_event_source *parked;        /* its source while curl watches it no more (idle) */
} EngineSocket;

struct Engine {
        sd_event *event;
        CURLM *multi;
        EngineSocket *sockets;          /* indexed by descriptor */
        size_t n_sockets;
        sd_event_source *timer;
        sd_event_source *kick;  /* curl's "call me again right away" */
        sd_event_source *reap;  /* releases the retired requests */
        List retired;           /* engine_release_later(): waiting for reap */
        uint64_t reap_delay;    /* how long after their retirement they are released */
        bool reap_test;         /* XFERD_TEST_TEARDOWN_DELAY: that long, and logged */
        EngineSettings settings;
};

static void engine_check_done(Engine *e);

sd_event *engine_get_event(Engine *e) {
        assert(e);

        return e->event;
}

uint64_t engine_now(Engine *e) {
        assert(e);
        return event_now(e->event, CLOCK_MONOTONIC);
}

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Engine *e = userdata;
        int action = 0, running;

        if ((size_t) fd < e->n_sockets && e->sockets[fd].parked == s) {
                /* Idle, and something came (the server closed it, bytes for a paused request):
                 * it waits, off, for curl to look again (a reuse, a resume) or to close it. */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        if (revents & (EPOLLIN | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;

        if (curl_multi_socket_action(e->multi, fd, action, &running) != CURLM_OK)
                log_warning("curl_multi_socket_action() failed on fd %d.", fd);
        engine_check_done(e);
        return 0;
}

/* Sockets of kept connections: curl stops watching a connection's socket when its request
 * ends and watches it again for the next request on it, and each time the socket's source was
 * freed and made again (an epoll_ctl() each way, most of a small job's two). A connection's
 * socket is parked instead, its source as it was; the next request takes it back as it is
 * (the same events: no system call). curl closes a connection's socket through
 * on_curl_close_socket(), which frees a parked source first; other sockets (a resolver's) are
 * never parked. */
static EngineSocket *engine_socket(Engine *e, curl_socket_t fd) {
        return fd >= 0 && (size_t) fd < e->n_sockets ? &e->sockets[fd] : NULL;
}

static curl_socket_t on_curl_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
        Engine *e = clientp;
        size_t allocated = e->n_sockets;
        int fd;

        fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        if (fd < 0)
                return CURL_SOCKET_BAD;
        if ((size_t) fd >= e->n_sockets) {
                /* Not known: used as curl's own would be, never parked. */
                if (array_reserve((void **) &e->sockets, &allocated, (size_t) fd + 1, sizeof *e->sockets) < 0)
                        return fd;
                memset(e->sockets + e->n_sockets, 0, (allocated - e->n_sockets) * sizeof *e->sockets);
                e->n_sockets = allocated;
        }
        /* (A source parked for this number would be of a socket closed behind the engine's back.) */
        sd_event_source_disable_unref(e->sockets[fd].parked);
        e->sockets[fd] = (EngineSocket) { .ours = purpose == CURLSOCKTYPE_IPCXN };
        return fd;
}

static int on_curl_close_socket(void *clientp, curl_socket_t fd) {
        EngineSocket *k = engine_socket(clientp, fd);

        if (k) {
                k->parked = sd_event_source_disable_unref(k->parked);
                k->ours = false;
        }
        return close(fd) < 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        Engine *e = userp;
        sd_event_source *io = socketp;
        EngineSocket *k = engine_socket(e, fd);
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        curl_multi_assign(e->multi, fd, NULL);
                        if (k && k->ours && !k->parked)
                                k->parked = io;
                        else
                                sd_event_source_disable_unref(io);
                }
                return 0;
        }

        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;

        if (!io && k && k->parked) {
                io = TAKE_PTR(k->parked);
                if (curl_multi_assign(e->multi, fd, io) != CURLM_OK) {
                        sd_event_source_disable_unref(io);
                        return -1;
                }
        }
        if (io) {
                /* Neither calls epoll_ctl() for what it has already. */
                if (sd_event_source_set_io_events(io, events) < 0 ||
                    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }

        if (sd_event_add_io(e->event, &io, fd, events, on_curl_io, e) < 0)
                return -1;
        (void) sd_event_source_set_description(io, "curl-io");
        if (curl_multi_assign(e->multi, fd, io) != CURLM_OK) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

static int on_curl_timer_elapsed(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = userdata;
        int running;

        if (curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_warning("curl_multi_socket_action() failed on timeout.");
        engine_check_done(e);
        return 0;
}

static int on_curl_kick(sd_event_source *s, void *userdata) {
        return on_curl_timer_elapsed(s, 0, userdata);
}

static void engine_reap(Engine *e) {
        EngineRequest *r;
        size_t n = e->retired.n;

        while ((r = LIST_ENTRY(e->retired.head, EngineRequest, retired))) {
                list_remove(&e->retired, &r->retired);
                engine_release(e, r);
                r->destroy(r);
        }
        if (e->reap_test && n > 0)
                log_info("Test delay: %zu stopped requests released.", n);
}

static int on_reap(sd_event_source *s, uint64_t usec, void *userdata) {
        engine_reap(userdata);
        return 0;
}

/* After the reply has gone: dbus-daemon and the client need the CPUs then, and a release
 * closes a connection (nginx wakes too). Measured with 100 transfers running, interleaved, 8
 * rounds: the reply's way back to the client p90 470 -> 352 us, a Cancel's p99 7.4 -> 5.8 ms,
 * against a release right after the reply. Curl stays away from the sockets meanwhile: the
 * owner's callbacks pause the request. */
#define REAP_DELAY_USEC (3 * USEC_PER_MSEC)
/* Connections kept, in use or idle (idle ones beyond it are closed, the oldest first). */
#define ENGINE_CONNECTIONS_KEPT 64

static int engine_add_reap(Engine *e) {
        const char *delay = getenv("XFERD_TEST_TEARDOWN_DELAY");
        unsigned secs = 0;
        int r;

        e->reap_delay = REAP_DELAY_USEC;
        if (delay && sscanf(delay, "%u", &secs) == 1 && secs > 0) {
                e->reap_delay = secs * USEC_PER_SEC;
                e->reap_test = true;
        }
        /* A third of the delay as accuracy: the wake-up joins another timer's. */
        r = sd_event_add_time(e->event, &e->reap, CLOCK_MONOTONIC, 0, e->reap_delay / 3, on_reap, e);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(e->reap, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->reap, "curl-reap");
        return 0;
}

/* How late a curl timeout may fire: a tenth of it, between 1 µs and 50 ms. sd-event then
 * puts nearby deadlines on the same tick, and a deadline that curl moves by a little (it
 * re-arms its speed check on every read) leaves the timerfd alone: reprogramming it is one
 * of the dearest system calls in a VM. */
static uint64_t timer_accuracy(long timeout_ms) {
        uint64_t a = (uint64_t) timeout_ms * USEC_PER_MSEC / 10;

        return a < 1 ? 1 : a > 50 * USEC_PER_MSEC ? 50 * USEC_PER_MSEC : a;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        Engine *e = userp;
        uint64_t when;

        if (timeout_ms < 0) {
                if (e->kick && sd_event_source_set_enabled(e->kick, SD_EVENT_OFF) < 0)
                        return -1;
                return e->timer ? (sd_event_source_set_enabled(e->timer, SD_EVENT_OFF) < 0 ? -1 : 0) : 0;
        }

        if (timeout_ms == 0) {
                /* "As soon as possible": the next loop iteration, without touching the timerfd.
                 * A pending timer stays as it is; curl asks again for what it still needs. */
                if (!e->kick) {
                        if (sd_event_add_defer(e->event, &e->kick, on_curl_kick, e) < 0)
                                return -1;
                        (void) sd_event_source_set_description(e->kick, "curl-kick");
                }
                return sd_event_source_set_enabled(e->kick, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
        }

        if (e->kick && sd_event_source_set_enabled(e->kick, SD_EVENT_OFF) < 0)
                return -1;
        when = engine_now(e) + (uint64_t) timeout_ms * USEC_PER_MSEC;
        if (e->timer) {
                if (sd_event_source_set_time(e->timer, when) < 0 ||
                    sd_event_source_set_time_accuracy(e->timer, timer_accuracy(timeout_ms)) < 0 ||
                    sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_time(e->event, &e->timer, CLOCK_MONOTONIC, when, timer_accuracy(timeout_ms),
                              on_curl_timer_elapsed, e) < 0)
                return -1;
        (void) sd_event_source_set_description(e->timer, "curl-timer");
        return 0;
}

int engine_new(sd_event *event, const EngineSettings *settings, Engine **ret) {
        _cleanup_(engine_freep) Engine *e = NULL;
        int r;

        assert(event);
        assert(settings);
        assert(ret);

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(event);
        e->settings = *settings;
        e->multi = curl_multi_init();
        if (!e->multi ||
            curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
            curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK ||
            /* HTTP/2 streams of many jobs to one server share one connection. */
            curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX) != CURLM_OK ||
            /* curl keeps four idle connections for each transfer in the multi handle by
             * default: when most transfers of a burst had ended before the next ones began,
             * it closed the connections those would have used (a tenth of 1000 small jobs
             * made a new one). */
            curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long) ENGINE_CONNECTIONS_KEPT) != CURLM_OK)
                return -EIO;
        r = engine_add_reap(e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        /* Every request must be gone by now, but the retired: they point at the engine. */
        engine_reap(e);
        /* Its connections' sockets are closed through on_curl_close_socket(): parked sources go. */
        if (e->multi)
                curl_multi_cleanup(e->multi);
        for (size_t fd = 0; fd < e->n_sockets; fd++)
                sd_event_source_disable_unref(e->sockets[fd].parked);
        free(e->sockets);
        sd_event_source_disable_unref(e->reap);
        sd_event_source_disable_unref(e->timer);
        sd_event_source_disable_unref(e->kick);
        sd_event_unref(e->event);
        return mfree(e);
}

/* CAFile: trusted in addition to the system's certificates, which curl then finds in their
 * directory (Debian's libcurl has both a bundle file and the directory built in). */
static void engine_setup_tls(Engine *e, CURL *c) {
        const char *ca = e->settings.network.ca_file;
        const curl_version_info_data *v;
        const char *dir;

        if (!ca)
                return;
        v = curl_version_info(CURLVERSION_NOW);
        dir = v && v->capath ? v->capath : "/etc/ssl/certs";
        (void) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        (void) curl_easy_setopt(c, CURLOPT_CAPATH, dir);
        (void) curl_easy_setopt(c, CURLOPT_PROXY_CAINFO, ca);
        (void) curl_easy_setopt(c, CURLOPT_PROXY_CAPATH, dir);
}

int engine_setup_easy(Engine *e, CURL *c, const char *url, bool allow_insecure_redirect) {
        bool https = strncasecmp(url, "https:", 6) == 0;

        assert(e);
        assert(c);
        assert(url);

        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
                             https && !allow_insecure_redirect ? "https" : "http,https") != CURLE_OK)
                return -EIO;

        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        /* A proxy's "200 Connection established" is not the server's response. */
        (void) curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
        (void) curl_easy_setopt(c, CURLOPT_USERAGENT, "xferd/" XFERD_VERSION);
        (void) curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        (void) curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        /* A connection's socket, made and closed here, is parked between its requests. */
        if (curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_curl_open_socket) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, e) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close_socket) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, e) != CURLE_OK)
                return -EIO;
        engine_setup_tls(e, c);
        return engine_setup_route(e, c, url, NULL, true, NULL);
}

int engine_setup_route(Engine *e, CURL *c, const char *url, const char *job_proxy, bool skip_cache,
                       ProxyRouteKind *ret_kind) {
        const ProxySettings *n = &e->settings.network;
        uint64_t connect = e->settings.connect_timeout_usec, stall = e->settings.stall_timeout_usec;
        ProxyRoute route;
        int r;

        assert(e);
        assert(c);
        assert(url);

        r = proxy_route(n, job_proxy, url, skip_cache, &route);
        if (r < 0)
                return r;
        switch (route.kind) {
        case PROXY_ROUTE_ENVIRONMENT:
                /* curl's default: http_proxy, https_proxy and no_proxy from the environment. */
                (void) curl_easy_setopt(c, CURLOPT_PROXY, NULL);
                (void) curl_easy_setopt(c, CURLOPT_NOPROXY, NULL);
                break;
        case PROXY_ROUTE_DIRECT:
                /* "" is no proxy at all, whatever the environment says. */
                (void) curl_easy_setopt(c, CURLOPT_PROXY, "");
                break;
        case PROXY_ROUTE_CACHE:
        case PROXY_ROUTE_PROXY:
                /* curl takes user and password (Basic) from the URL; our NoProxy was applied
                 * above, the environment's no_proxy must not undo the choice. */
                if (curl_easy_setopt(c, CURLOPT_PROXY, route.proxy) != CURLE_OK)
                        return -EIO;
                (void) curl_easy_setopt(c, CURLOPT_NOPROXY, "");
                break;
        }
        /* A silent cache is skipped, not a failed attempt: it gets CacheFallbackSec. */
        if (route.kind == PROXY_ROUTE_CACHE && n->cache_fallback_usec > 0) {
                connect = connect < n->cache_fallback_usec ? connect : n->cache_fallback_usec;
                stall = n->cache_fallback_usec;
        }
        (void) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) (connect / USEC_PER_MSEC));
        /* A stalled peer ends the attempt: less than progress's 1 KiB a minute (18 B/s on
         * average) for the stall timeout; a trickle of bytes keeps no slot. */
        (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, progress_low_speed_limit(0));
        (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long) (stall / USEC_PER_SEC));
        if (ret_kind)
                *ret_kind = route.kind;
        return 0;
}

const ProxySettings *engine_get_network(Engine *e) {
        assert(e);
        return &e->settings.network;
}

int engine_add(Engine *e, EngineRequest *r) {
        assert(e);
        assert(r);

        (void) curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
        if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK)
                return -EIO;
        r->added = true;
        return 0;
}

void engine_remove(Engine *e, EngineRequest *r) {
        assert(e);
        assert(r);

        if (!r->added)
                return;
        curl_multi_remove_handle(e->multi, r->easy);
        r->added = false;
}

void engine_release(Engine *e, EngineRequest *r) {
        assert(e);
        assert(r);

        if (!r->easy)
                return;
        engine_remove(e, r);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
}

void engine_release_later(Engine *e, EngineRequest *r, void (*destroy)(EngineRequest *r)) {
        assert(e);
        assert(r);
        assert(destroy);

        if (!r->easy) {
                destroy(r);
                return;
        }
        r->destroy = destroy;
        list_append(&e->retired, &r->retired);
        if (e->retired.n > 1)
                return;  /* released with the first */
        if (e->reap_test)
                log_info("Test delay: a stopped request is released in %" PRIu64 " s.", e->reap_delay / USEC_PER_SEC);
        (void) sd_event_source_set_time_relative(e->reap, e->reap_delay);
        (void) sd_event_source_set_enabled(e->reap, SD_EVENT_ONESHOT);
}

static void engine_check_done(Engine *e) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(e->multi, &left))) {
                EngineRequest *r = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                CURLcode code = m->data.result;
                if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                        continue;
                if (r->destroy)
                        continue;  /* retired: released by reap */

                /* Out of the multi before its owner hears of it, so it may free or restart. */
                engine_remove(e, r);
                r->done(r, code);
        }
}
