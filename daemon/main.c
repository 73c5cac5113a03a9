/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus-errors.h"
#include "bus.h"
#include "config.h"
#include "gpgv.h"
#include "heap-huge.h"
#include "log.h"
#include "manager.h"
#include "settings.h"
#include "thread-sched.h"

typedef struct Daemon {
        sd_event *event;
        sd_bus *bus;
        Manager *manager;
        Bus b;
        sd_event_source *idle_timer;
        uint64_t idle_timeout_usec;
} Daemon;

typedef struct Args {
        int system;             /* -1: by uid */
        uint64_t idle_timeout_usec;
        ManagerConfig config;
        const char *state_dir;
        const char *config_file;
        /* What the command line set; it overrides the configuration file. */
        bool set_idle, set_retention, set_stall;
} Args;

static void help(void) {
        printf("xferd " XFERD_VERSION " — background file transfers over D-Bus\n\n"
               "Usage: xferd [OPTIONS]\n\n"
               "  --system                 serve the system bus (default for root)\n"
               "  --user                   serve the session bus (default for other users)\n"
               "  --idle-timeout=SEC       exit after SEC idle seconds (default 30, 0 = never)\n"
               "  --retention=SEC          keep final job objects on the bus this long (default 300)\n"
               "  --retry-delay-floor=SEC  lowest MinimumRetryDelay accepted (default 5)\n"
               "  --stall-timeout=SEC      a transfer with no byte for this long fails (default 60)\n"
               "  --delete-retry-base=SEC  first retry of an undelivered upload DELETE (default 5)\n"
               "  --foreground-retry-base=SEC  first retry of a foreground job; doubles (default 5)\n"
               "  --state-dir=DIR          where the job store lives\n"
               "  --config=FILE            settings file (default: /etc/xferd/xferd.conf, or\n"
               "                           ~/.config/xferd/xferd.conf with --user)\n"
               "  --log-level=LEVEL        err, warning, notice, info (default) or debug\n"
               "  -h --help                show this help\n"
               "     --version             show the version\n");
}

static int parse_args(int argc, char *argv[], Args *a) {
        enum {
                ARG_SYSTEM = 0x100, ARG_USER, ARG_IDLE, ARG_RETENTION, ARG_FLOOR, ARG_STALL, ARG_STATE,
                ARG_LOG, ARG_VERSION, ARG_CONFIG, ARG_DELETE_RETRY, ARG_FOREGROUND_RETRY,
        };
        static const struct option options[] = {
                { "system", no_argument, NULL, ARG_SYSTEM },
                { "user", no_argument, NULL, ARG_USER },
                { "idle-timeout", required_argument, NULL, ARG_IDLE },
                { "retention", required_argument, NULL, ARG_RETENTION },
                { "retry-delay-floor", required_argument, NULL, ARG_FLOOR },
                { "stall-timeout", required_argument, NULL, ARG_STALL },
                { "delete-retry-base", required_argument, NULL, ARG_DELETE_RETRY },
                { "foreground-retry-base", required_argument, NULL, ARG_FOREGROUND_RETRY },
                { "state-dir", required_argument, NULL, ARG_STATE },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "log-level", required_argument, NULL, ARG_LOG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { NULL, 0, NULL, 0 }
        };
        uint64_t v;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SYSTEM:
                        a->system = 1;
                        break;
                case ARG_USER:
                        a->system = 0;
                        break;
                case ARG_IDLE:
                case ARG_RETENTION:
                case ARG_FLOOR:
                case ARG_STALL:
                case ARG_DELETE_RETRY:
                case ARG_FOREGROUND_RETRY:
                        if (parse_uint64(optarg, UINT32_MAX, &v) < 0) {
                                log_error("Invalid number of seconds: %s", optarg);
                                return -EINVAL;
                        }
                        if (c == ARG_IDLE) {
                                a->idle_timeout_usec = v * USEC_PER_SEC;
                                a->set_idle = true;
                        } else if (c == ARG_RETENTION) {
                                a->config.retention_usec = v * USEC_PER_SEC;
                                a->set_retention = true;
                        } else if (c == ARG_FLOOR)
                                a->config.retry_delay_floor = (uint32_t) v;
                        else if (c == ARG_DELETE_RETRY)
                                a->config.delete_retry_base_usec = (v > 0 ? v : 1) * USEC_PER_SEC;
                        else if (c == ARG_FOREGROUND_RETRY)
                                a->config.foreground_retry_base_usec = (v > 0 ? v : 1) * USEC_PER_SEC;
                        else if (v == 0) {
                                log_error("--stall-timeout must be at least 1 second.");
                                return -EINVAL;
                        } else {
                                a->config.transfer.stall_timeout_usec = v * USEC_PER_SEC;
                                a->set_stall = true;
                        }
                        break;
                case ARG_STATE:
                        a->state_dir = optarg;
                        break;
                case ARG_CONFIG:
                        a->config_file = optarg;
                        break;
                case ARG_LOG:
                        r = log_level_from_string(optarg);
                        if (r < 0) {
                                log_error("Unknown log level: %s", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(r);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("xferd " XFERD_VERSION "\n");
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }
        if (a->system < 0)
                a->system = geteuid() == 0;
        a->config.system = a->system;
        return 1;
}

/* The file's settings under the command line's: the file is read into a copy of the
 * defaults, then what the command line set is put back on top. */
static int settings_pick(Args *a) {
        _cleanup_free_ char *user_file = NULL;
        const char *path = a->config_file;
        DaemonSettings s = { .idle_timeout_usec = 30 * USEC_PER_SEC };
        const char *e;
        int r;

        settings_manager_defaults(&s.manager);
        if (!path && a->system)
                path = XFERD_SYSCONFDIR "/xferd.conf";
        else if (!path) {
                if ((e = getenv("XDG_CONFIG_HOME")) && *e == '/')
                        r = asprintf(&user_file, "%s/xferd/xferd.conf", e);
                else if ((e = getenv("HOME")) && *e == '/')
                        r = asprintf(&user_file, "%s/.config/xferd/xferd.conf", e);
                else
                        r = 0;
                if (r < 0)
                        return -ENOMEM;
                path = user_file;
        }
        if (path) {
                r = settings_load(path, &s);
                if (r < 0) {
                        proxy_settings_done(&s.manager.transfer.network);
                        return r;
                }
        }

        if (!a->set_idle)
                a->idle_timeout_usec = s.idle_timeout_usec;
        ManagerConfig cli = a->config;
        a->config = s.manager;
        a->config.system = cli.system;
        a->config.retry_delay_floor = cli.retry_delay_floor;
        a->config.delete_retry_base_usec = cli.delete_retry_base_usec;
        a->config.foreground_retry_base_usec = cli.foreground_retry_base_usec;
        if (a->set_retention)
                a->config.retention_usec = cli.retention_usec;
        if (a->set_stall)
                a->config.transfer.stall_timeout_usec = cli.transfer.stall_timeout_usec;
        return 0;
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        return 0;
}

/* --state-dir, else systemd's StateDirectory=, else the system or XDG default. */
static int state_dir_pick(const Args *a, char **ret) {
        const char *e;
        char *p;

        if (a->state_dir)
                p = strdup(a->state_dir);
        else if ((e = getenv("STATE_DIRECTORY")) && *e)
                p = strndup(e, strcspn(e, ":"));  /* the first of a colon-separated list */
        else if (a->system)
                p = strdup(XFERD_LOCALSTATEDIR);
        else if ((e = getenv("XDG_STATE_HOME")) && *e == '/') {
                if (asprintf(&p, "%s/xferd", e) < 0)
                        p = NULL;
        } else if ((e = getenv("HOME")) && *e == '/') {
                if (asprintf(&p, "%s/.local/state/xferd", e) < 0)
                        p = NULL;
        } else
                return -ENOENT;
        if (!p)
                return -ENOMEM;
        /* The store makes its own directory 0700; the parents are ordinary ones. */
        int r = mkdir_parents(p, 0755);
        if (r < 0) {
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static void idle_timer_arm(Daemon *d) {
        if (d->idle_timeout_usec == 0)
                return;
        (void) sd_event_source_set_time_relative(d->idle_timer, d->idle_timeout_usec);
        (void) sd_event_source_set_enabled(d->idle_timer, SD_EVENT_ONESHOT);
}

static void on_idle_changed(void *userdata, bool idle) {
        Daemon *d = userdata;

        if (idle)
                idle_timer_arm(d);
        else
                (void) sd_event_source_set_enabled(d->idle_timer, SD_EVENT_OFF);
}

/* A call to us restarts the idle countdown: a client in the middle of a conversation keeps
 * us. Signals and other traffic do not. */
static int on_bus_message(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        uint8_t type;

        if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return 0;
        if (sd_event_source_get_enabled(d->idle_timer, NULL) > 0)
                idle_timer_arm(d);
        return 0;
}

/* How long an exiting xferd waits for the answers its held calls need (sd-bus's default
 * timeout of a call). */
#define DRAIN_HELD_USEC (25 * USEC_PER_SEC)

/* Serves every call queued, and those held for their caller's credentials or for polkit once
 * their answers come, for DRAIN_HELD_USEC at most. */
static void bus_drain(Daemon *d) {
        uint64_t deadline = now_monotonic_usec() + DRAIN_HELD_USEC, now;
        int r;

        for (;;) {
                r = sd_bus_process(d->bus, NULL);
                if (r > 0)
                        continue;
                if (r < 0 || !bus_holds_calls(&d->b))
                        return;
                now = now_monotonic_usec();
                if (now >= deadline || sd_bus_wait(d->bus, deadline - now) < 0)
                        return;
        }
}

static int on_idle_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        int r;

        if (!manager_is_idle(d->manager))
                return 0;
        /* Calls held before their dispatch are still to be answered: not idle yet. */
        if (bus_holds_calls(&d->b)) {
                idle_timer_arm(d);
                return 0;
        }

        /* Release the name first: new calls then go to a new instance by activation. Calls that
         * were sent to us before are already queued; serve them, then go. */
        log_debug("Idle for %" PRIu64 " s, exiting.", d->idle_timeout_usec / USEC_PER_SEC);
        r = sd_bus_release_name(d->bus, XFERD_BUS_NAME);
        if (r < 0)
                log_warning_errno(r, "Failed to release the bus name");
        bus_drain(d);
        /* Whatever those calls asked for is in the store: the next instance, which waits for
         * the store's lock, carries on with it. */
        (void) sd_bus_flush(d->bus);
        return sd_event_exit(d->event, 0);
}

static void args_done(Args *a) {
        proxy_settings_done(&a->config.transfer.network);
}

/* Where requests go, as the settings say; a proxy without its credentials. */
static void log_network(const ProxySettings *n) {
        _cleanup_free_ char *proxy = proxy_redact(n->proxy);

        if (n->cache_host)
                log_info("http downloads go through the cache at %s (skipped after %" PRIu64 " s of failure, "
                         "0 = never).", n->cache_host, n->cache_fallback_usec / USEC_PER_SEC);
        if (n->proxy)
                log_info("Proxy: %s%s.", strempty(proxy), proxy_has_credentials(n->proxy) ? " (with credentials)" : "");
        if (n->no_proxy)
                log_debug("Reached directly: %s.", n->no_proxy);
        if (n->ca_file)
                log_debug("Extra trusted CA certificates: %s.", n->ca_file);
}

/* systemd starts a service with a soft limit of 1024 descriptors under a hard one of 524288,
 * and leaves raising it to programs that use no select(): xferd polls through sd-event and curl's
 * multi socket interface only. A job of many files, or many transfers at once, needs more than
 * 1024. (gpgv, its only child, gets 0..5 and the few files it opens: far below select()'s 1024.) */
static void nofile_limit_raise(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_debug_errno(errno, "Cannot raise the soft limit of open files");
}

static int run(int argc, char *argv[]) {
        _cleanup_(args_done) Args a = { .system = -1, .idle_timeout_usec = 30 * USEC_PER_SEC };
        Daemon d = { .event = NULL };
        _cleanup_free_ char *state_dir = NULL, *keys_dir = NULL;
        sigset_t mask;
        int r;

        settings_manager_defaults(&a.config);
        r = parse_args(argc, argv, &a);
        if (r <= 0)
                return r;
        nofile_limit_raise();

        r = settings_pick(&a);
        if (r < 0)
                return r;
        log_network(&a.config.transfer.network);

        r = state_dir_pick(&a, &state_dir);
        if (r < 0)
                return log_error_errno(r, "Cannot determine the state directory");
        a.config.state_dir = state_dir;
        r = gpgv_keys_dir(!a.config.system, &keys_dir);
        if (r < 0)
                return log_error_errno(r, "Cannot determine the keys.d directory");
        a.config.keys_dir = keys_dir;

        r = bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register error names");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* gpgv runs as a child watched by the loop (sd_event_add_child() needs it blocked). */
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_new(&d.event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop");
        (void) sd_event_add_signal(d.event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(d.event, NULL, SIGINT, NULL, NULL);
        (void) sd_event_set_watchdog(d.event, true);

        r = manager_new(d.event, &a.config, &d.manager);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the transfer manager");
                goto finish;
        }

        r = bus_open(a.system, &d.bus);
        if (r < 0)
                goto finish;
        d.b = (Bus) {
                .bus = d.bus,
                .manager = d.manager,
                .system = a.system,
                .idle_changed = on_idle_changed,
                .idle_userdata = &d,
        };
        r = bus_install(&d.b);
        if (r < 0)
                goto finish;

        r = manager_load(d.manager);
        if (r < 0)
                goto finish;
        /* Jobs whose client left while xferd was not running (CancelWhenOwnerGone). */
        r = bus_owner_check_stored(&d.b);
        if (r < 0)
                goto finish;

        r = sd_bus_add_filter(d.bus, NULL, on_bus_message, &d);
        if (r < 0) {
                log_error_errno(r, "Failed to install the bus filter");
                goto finish;
        }
        r = sd_bus_attach_event(d.bus, d.event, MANAGER_CALL_PRIORITY);
        if (r < 0) {
                log_error_errno(r, "Failed to attach the bus to the event loop");
                goto finish;
        }
        (void) sd_bus_set_exit_on_disconnect(d.bus, true);

        r = sd_event_add_time(d.event, &d.idle_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, on_idle_timer, &d);
        if (r < 0) {
                log_error_errno(r, "Failed to create the idle timer");
                goto finish;
        }
        (void) sd_event_source_set_enabled(d.idle_timer, SD_EVENT_OFF);
        d.idle_timeout_usec = a.idle_timeout_usec;

        r = sd_bus_request_name(d.bus, XFERD_BUS_NAME, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to acquire the bus name " XFERD_BUS_NAME);
                goto finish;
        }

        if (manager_is_idle(d.manager))
                idle_timer_arm(&d);

        (void) sd_notify(false, "READY=1\nSTATUS=Serving transfers.");
        log_info("xferd " XFERD_VERSION " serving the %s bus.", a.system ? "system" : "session");

        /* A call waits less for the CPU behind nginx, the bus and the hashing threads. */
        r = thread_sched_set(thread_sched_get_nice(), THREAD_SCHED_LOOP_SLICE_NSEC);
        if (r < 0)
                log_debug_errno(r, "Cannot shorten the event loop's time slice");
        r = sd_event_loop(d.event);
        if (r < 0)
                log_error_errno(r, "Event loop failed");
        else if (r > 0) {
                /* sd-bus ends the loop with a failure code when the bus connection is lost
                 * (exit on disconnect). Never an exit that looks like success: the service
                 * manager restarts a failed xferd, and the stored jobs carry on in the new one. */
                log_error("Lost the connection to the %s bus, exiting.", a.system ? "system" : "session");
                r = -ECONNRESET;
        }
        (void) sd_notify(false, "STOPPING=1");

finish:
        /* Jobs first: their transfers hold easy handles of the manager's engine. */
        d.idle_timer = sd_event_source_disable_unref(d.idle_timer);
        d.manager = manager_free(d.manager);
        bus_uninstall(&d.b);
        d.bus = sd_bus_flush_close_unref(d.bus);
        d.event = sd_event_unref(d.event);
        return r;
}

int main(int argc, char *argv[]) {
        /* A transfer's buffers (curl's 256 KiB, the 1 MiB write buffer) come from the heap and
         * stay there when freed: glibc would map and unmap them per transfer, and munmap() in a
         * process with worker threads interrupts the other CPUs to flush their TLBs, 0.15 to
         * 8 ms on the loop of this VM while a Cancel stops a transfer. Larger blocks are still
         * mapped. The heap grows by 8 MiB at least beyond a request, so that its growth under a
         * burst of new jobs can be backed by huge pages (heap-huge.h, HeapGrowth); once more
         * than 4 MiB are free at its top, what passes those 8 MiB goes back. */
        (void) mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
        (void) mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
        (void) mallopt(M_TOP_PAD, HEAP_TOP_PAD);
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
