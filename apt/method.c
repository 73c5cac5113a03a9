/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The xferd+http and xferd+https acquire methods of apt: apt's downloads through xferd.
 *
 * apt runs the method with a pipe on stdin and stdout (apt's doc/method.dbk). The method
 * says what it can do (100 Capabilities), takes apt's configuration (601), gives up root
 * for APT::Sandbox::User as apt's own methods do, and then carries out each 600 URI Acquire
 * as an xferd job of its own (acquire.h), several at a time. One sd-event loop drives apt's
 * pipe, the bus, the timeouts and SIGINT/SIGTERM; nothing blocks on xferd. When apt closes
 * the pipe or stops the method with a signal, the method cancels every job it created and
 * exits once xferd has answered (or after a bound, so it never holds apt up). */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acquire.h"
#include "config.h"
#include "io-util.h"
#include "method.h"
#include "privileges.h"
#include "util.h"

/* How long the cancellations at the end may take before the method exits regardless. */
#define SHUTDOWN_TIMEOUT_USEC (5 * USEC_PER_SEC)

void method_debug(Method *m, const char *fmt, ...) {
        va_list ap;

        if (!m->settings.debug)
                return;
        fprintf(stderr, "%s: ", m->binary);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void method_shutdown(Method *m, int status);

void method_send(Method *m, MessageOut *o) {
        const char *p;
        size_t len;

        p = message_out_end(o, &len);
        if (!p || m->apt_gone)
                return;
        if (write_full(STDOUT_FILENO, p, len) < 0) {
                /* apt is gone: nobody to deliver files to. */
                m->apt_gone = true;
                method_shutdown(m, 100);
        }
}

void method_acquire_gone(Method *m) {
        if (m->shutting_down && list_is_empty(&m->acquires))
                (void) sd_event_exit(m->event, m->exit_status);
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Method *m = userdata;

        method_debug(m, "xferd did not answer every Cancel in time; exiting");
        return sd_event_exit(m->event, m->exit_status);
}

static void method_shutdown(Method *m, int status) {
        if (m->shutting_down)
                return;
        m->shutting_down = true;
        m->exit_status = status;
        m->input = sd_event_source_disable_unref(m->input);
        (void) sd_event_add_time_relative(m->event, &m->exit_timer, CLOCK_MONOTONIC, SHUTDOWN_TIMEOUT_USEC, 0,
                                          on_shutdown_timeout, m);
        for (Acquire *a = acquire_first(m), *next; a; a = next) {
                next = acquire_next(a);
                acquire_abandon(a);
        }
        method_acquire_gone(m);
}

/* ---- xferd -------------------------------------------------------------------------------- */

static void on_xferd_ready(void *userdata) {
        Method *m = userdata;

        for (Acquire *a = acquire_first(m), *next; a; a = next) {
                next = acquire_next(a);
                acquire_start(a);
        }
}

static void on_xferd_unavailable(const char *why, void *userdata) {
        Method *m = userdata;

        method_debug(m, "%s", why);
        for (Acquire *a = acquire_first(m), *next; a; a = next) {
                next = acquire_next(a);
                acquire_unavailable(a, why);
        }
}

static void on_job_changed(const char *path, sd_bus_message *msg, void *userdata) {
        Method *m = userdata;

        for (Acquire *a = acquire_first(m); a; a = acquire_next(a))
                if (acquire_owns_job(a, path)) {
                        acquire_job_changed(a, msg);
                        return;
                }
}

static void on_xferd_gone(void *userdata) {
        Method *m = userdata;

        method_debug(m, "xferd left the bus; reading our jobs again");
        for (Acquire *a = acquire_first(m), *next; a; a = next) {
                next = acquire_next(a);
                acquire_refresh(a);
        }
}

static const XferdHandlers xferd_handlers = {
        .ready = on_xferd_ready,
        .unavailable = on_xferd_unavailable,
        .job_changed = on_job_changed,
        .daemon_gone = on_xferd_gone,
};

/* ---- apt's messages ----------------------------------------------------------------------- */

static void send_capabilities(Method *m) {
        MessageOut o = { 0 };

        message_out_begin(&o, "100 Capabilities");
        message_out_add(&o, "Version", XFERD_VERSION);
        message_out_add(&o, "Pipeline", "true");
        message_out_add(&o, "Send-Config", "true");
        /* URIs as apt has them, %-encoded: handed to xferd as they are. */
        message_out_add(&o, "Send-URI-Encoded", "true");
        method_send(m, &o);
        free(o.buf);
}

static void send_general_failure(Method *m, const char *fmt, ...) _printf_(2, 3);
static void send_general_failure(Method *m, const char *fmt, ...) {
        MessageOut o = { 0 };
        char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        message_out_begin(&o, "401 General Failure");
        message_out_add(&o, "Message", text ? text : "out of memory");
        method_send(m, &o);
        free(o.buf);
        free(text);
}

static int configure(Method *m, const Message *msg) {
        _cleanup_free_ char *warnings = NULL;
        const char *what;
        Config c = { 0 };
        int r;

        r = msg ? config_from_message(&c, msg) : 0;
        if (r >= 0) {
                settings_done(&m->settings);
                r = settings_resolve(&m->settings, &c, m->binary, &warnings);
        }
        config_done(&c);
        if (r < 0) {
                send_general_failure(m, "Cannot read apt's configuration: %s", strerror(-r));
                return r;
        }
        m->configured = true;
        for (char *line = warnings, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                MessageOut o = { 0 };

                nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                message_out_begin(&o, "104 Warning");
                message_out_add(&o, "Message", line);
                method_send(m, &o);
                free(o.buf);
        }

        if (m->settings.drop_privileges) {
                r = privileges_drop(m->settings.sandbox_user, &what);
                if (r < 0) {
                        send_general_failure(m, "Cannot become the sandbox user %s: %s: %s",
                                             m->settings.sandbox_user, what, strerror(-r));
                        return r;
                }
        }
        /* The bus is opened as that user: xferd makes it the owner of the jobs. */
        r = xferd_new(&m->xferd, m->event, m->settings.start_timeout_usec, &xferd_handlers, m);
        if (r < 0)
                send_general_failure(m, "Cannot talk to xferd: %s", strerror(-r));
        return r;
}

static int handle_message(Method *m, const Message *msg) {
        Acquire *a;
        int r;

        switch (msg->code) {
        case 601:
                if (m->configured)
                        return 0;
                return configure(m, msg);
        case 600:
                if (!m->configured) {
                        r = configure(m, NULL);
                        if (r < 0)
                                return r;
                }
                r = acquire_new(m, msg, &a);
                if (r < 0 || !a)
                        return r;
                switch (xferd_state(m->xferd)) {
                case XFERD_READY:
                        acquire_start(a);
                        break;
                case XFERD_UNAVAILABLE:
                        acquire_unavailable(a, xferd_unavailable_reason(m->xferd));
                        break;
                case XFERD_CONNECTING:
                        break;  /* started once xferd answers */
                }
                return 0;
        default:
                method_debug(m, "ignored: %s", msg->status);
                return 0;
        }
}

static int on_input(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Method *m = userdata;
        char buf[16384];
        ssize_t n;
        int r;

        n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n <= 0) {
                /* apt closed the pipe: it wants nothing more. */
                method_debug(m, "apt closed the pipe");
                method_shutdown(m, 0);
                return 0;
        }
        r = message_reader_feed(&m->reader, buf, (size_t) n);
        while (r >= 0 && !m->shutting_down) {
                _cleanup_(message_freep) Message *msg = NULL;

                r = message_reader_next(&m->reader, &msg);
                if (r <= 0)
                        break;
                r = handle_message(m, msg);
        }
        if (r == -EBADMSG)
                send_general_failure(m, "Malformed message from apt");
        if (r < 0)
                method_shutdown(m, 100);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Method *m = userdata;

        method_debug(m, "%s: cancelling our jobs", strsignal((int) si->ssi_signo));
        method_shutdown(m, 100);
        return 0;
}

int main(int argc, char *argv[]) {
        Method m = { .binary = "xferd+http" };
        const char *base;
        sigset_t mask;
        int r;

        base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
        base = base ? base + 1 : argc > 0 ? argv[0] : NULL;
        if (base && strncmp(base, "xferd+", 6) == 0)
                m.binary = base;

        /* A closed pipe to apt is noticed where it is written to. */
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&m.event);
        if (r >= 0)
                r = sd_event_add_signal(m.event, NULL, SIGINT, on_signal, &m);
        if (r >= 0)
                r = sd_event_add_signal(m.event, NULL, SIGTERM, on_signal, &m);
        if (r >= 0)
                r = sd_event_add_io(m.event, &m.input, STDIN_FILENO, EPOLLIN, on_input, &m);
        if (r < 0) {
                fprintf(stderr, "%s: cannot set up the event loop: %s\n", m.binary, strerror(-r));
                return 100;
        }
        send_capabilities(&m);
        r = sd_event_loop(m.event);

        sd_event_source_disable_unref(m.input);
        sd_event_source_disable_unref(m.exit_timer);
        xferd_free(m.xferd);
        message_reader_done(&m.reader);
        settings_done(&m.settings);
        sd_event_unref(m.event);
        return r < 0 ? 100 : r;
}
