/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xferd-bench-broker: a private session bus on dbus-broker for tests/bench/run.sh and ab.sh
 * (`--bus broker`), in place of `dbus-daemon --fork`.
 *
 *   xferd-bench-broker --listen PATH [--servicedir DIR] [--nofork --print-address FD]
 *
 * dbus-broker is the broker alone: a controller gives it its listening socket, its policy and
 * its activatable names, and starts the services it asks for. dbus-broker-launch, Debian's
 * controller, starts services only as systemd units, and a benchmark machine (a container) may
 * run no systemd, so this program is the controller: it binds PATH, runs dbus-broker with one
 * end of a socket pair as `--controller`, hands it the socket with a policy that lets everyone
 * connect, own, send and receive anything (as the benchmarks' dbus-daemon configuration does),
 * and registers the Name= of every DIR/ *.service file ([D-BUS Service], Name=, Exec=) as
 * activatable. When the broker asks for a name, Exec= runs through /bin/sh with the bus's
 * address in DBUS_SESSION_BUS_ADDRESS and DBUS_STARTER_ADDRESS, and the variables clients set
 * with UpdateActivationEnvironment; when it ends, the requests still waiting for the name fail
 * (Reset), as dbus-daemon fails them.
 *
 * Once the bus serves, the address and dbus-broker's pid are printed, one a line, and the
 * program returns while the controller stays in the background (`dbus-daemon --fork
 * --print-address=1 --print-pid=1` alike). Stopping dbus-broker (that pid) ends the controller.
 * With --nofork it stays in the foreground and writes the address to FD (`dbus-daemon --nofork
 * --print-address=FD` alike; the test fixture's way, XFERD_TEST_BUS=broker): SIGTERM stops
 * dbus-broker and the controller. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#define MAX_SERVICES 16
#define MAX_ENV      64
#define NAME_PREFIX  "/org/bus1/DBus/Name/"

typedef struct Service {
        char *name;
        char *exec;
} Service;

/* A service's process, and the activation request it was started for. */
typedef struct Started {
        size_t service;
        uint64_t serial;
} Started;

static Service services[MAX_SERVICES];
static size_t n_services;
static char *activation_env[MAX_ENV];   /* "KEY=VALUE" */
static size_t n_env;
static char address[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 16];
static sd_bus *controller;

static void die(const char *what, int r) {
        fprintf(stderr, "xferd-bench-broker: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* Name= and Exec= of the [D-BUS Service] group of a service file; false without both. */
static bool service_read(const char *path, Service *s) {
        char line[4096];
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        *s = (Service) { .name = NULL };
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\r\n")] = 0;
                if (strncmp(line, "Name=", 5) == 0)
                        s->name = strdup(line + 5);
                else if (strncmp(line, "Exec=", 5) == 0)
                        s->exec = strdup(line + 5);
        }
        fclose(f);
        return s->name && s->exec;
}

static void services_load(const char *dir) {
        struct dirent *de;
        DIR *d = opendir(dir);
        if (!d)
                die(dir, errno);
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                char path[4096];
                if (n < 8 || strcmp(de->d_name + n - 8, ".service") != 0)
                        continue;
                if (n_services == MAX_SERVICES)
                        die("too many service files", E2BIG);
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                if (service_read(path, &services[n_services]))
                        n_services++;
        }
        closedir(d);
}

/* The policy dbus-broker takes with AddListener: per-uid batches (one for every uid: connect,
 * own any name, send and receive anything), no gid batches, no SELinux rules, no AppArmor, and
 * the bus type. The same as dbus-broker's own tests give it. */
#define POLICY_BATCH "bta(btbs)a(btssssuutt)a(btssssuutt)"
#define POLICY       "a(u(" POLICY_BATCH "))a(buu(" POLICY_BATCH "))a(ss)bs"

static int append_policy(sd_bus_message *m) {
        int r = sd_bus_message_open_container(m, 'v', "(" POLICY ")");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', POLICY);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(u(" POLICY_BATCH "))");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "u(" POLICY_BATCH ")");
        if (r >= 0)
                r = sd_bus_message_append(m, "u", (uint32_t) -1);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', POLICY_BATCH);
        /* connect: allowed (priority 1); own: any name; send, receive: anything */
        if (r >= 0)
                r = sd_bus_message_append(m, POLICY_BATCH, true, UINT64_C(1),
                                          1, true, UINT64_C(1), true, "",
                                          1, true, UINT64_C(1), "", "", "", "", 0, 0, UINT64_C(0), UINT64_MAX,
                                          1, true, UINT64_C(1), "", "", "", "", 0, 0, UINT64_C(0), UINT64_MAX);
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(buu(" POLICY_BATCH "))a(ss)bs", 0, 0, false, "session");
        for (int i = 0; i < 2 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int add_listener(int listen_fd) {
        sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_message_new_method_call(controller, &m, NULL, "/org/bus1/DBus/Broker",
                                               "org.bus1.DBus.Broker", "AddListener");
        if (r >= 0)
                r = sd_bus_message_append(m, "oh", "/org/bus1/DBus/Listener/0", listen_fd);
        if (r >= 0)
                r = append_policy(m);
        if (r >= 0)
                r = sd_bus_call(controller, m, 0, &e, NULL);
        if (r < 0 && sd_bus_error_is_set(&e))
                fprintf(stderr, "xferd-bench-broker: AddListener: %s: %s\n", e.name, e.message ? e.message : "");
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
        return r;
}

static int add_names(void) {
        for (size_t i = 0; i < n_services; i++) {
                char path[64];
                sd_bus_error e = SD_BUS_ERROR_NULL;
                snprintf(path, sizeof path, NAME_PREFIX "%zu", i);
                int r = sd_bus_call_method(controller, NULL, "/org/bus1/DBus/Broker", "org.bus1.DBus.Broker",
                                           "AddName", &e, NULL, "osu", path, services[i].name, (uint32_t) getuid());
                if (r < 0) {
                        fprintf(stderr, "xferd-bench-broker: AddName %s: %s\n", services[i].name,
                                e.message ? e.message : strerror(-r));
                        sd_bus_error_free(&e);
                        return r;
                }
        }
        return 0;
}

/* The service's process ended: the requests still waiting for the activation it was started for
 * fail. The serial is its own, not the name's latest: a process that exits after the next
 * request (an idle exit just before a call) must not fail that one. Once the name's owner took
 * the requests, or after a later Activate, the serial is stale and the broker ignores it. */
static int on_service_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Started *started = userdata;
        char path[64];
        int r;

        (void) si;
        snprintf(path, sizeof path, NAME_PREFIX "%zu", started->service);
        r = sd_bus_call_method_async(controller, NULL, NULL, path, "org.bus1.DBus.Name", "Reset", NULL, NULL,
                                     "ts", started->serial, "org.bus1.DBus.Name.Error.StartupFailure");
        free(started);
        sd_event_source_unref(s);
        return r;
}

static int service_start(sd_event *event, size_t i, uint64_t serial) {
        const Service *svc = &services[i];
        Started *started;
        sigset_t none;
        pid_t pid;
        int r;

        started = malloc(sizeof *started);
        if (!started)
                return -ENOMEM;
        *started = (Started) { .service = i, .serial = serial };
        pid = fork();
        if (pid < 0) {
                free(started);
                return -errno;
        }
        if (pid == 0) {
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                for (size_t k = 0; k < n_env; k++)
                        putenv(activation_env[k]);
                setenv("DBUS_SESSION_BUS_ADDRESS", address, 1);
                setenv("DBUS_STARTER_ADDRESS", address, 1);
                setenv("DBUS_STARTER_BUS_TYPE", "session", 1);
                execl("/bin/sh", "sh", "-c", svc->exec, (char *) NULL);
                _exit(127);
        }
        r = sd_event_add_child(event, NULL, pid, WEXITED, on_service_exit, started);
        if (r < 0)
                free(started);
        return r;
}

/* UpdateActivationEnvironment of a client: the variables for the services started from now on. */
static int set_activation_env(sd_bus_message *m) {
        const char *key, *value;
        int r = sd_bus_message_enter_container(m, 'a', "{ss}");
        while (r >= 0 && (r = sd_bus_message_read(m, "{ss}", &key, &value)) > 0) {
                size_t klen = strlen(key), i;
                char *entry;
                for (i = 0; i < n_env; i++)
                        if (strncmp(activation_env[i], key, klen) == 0 && activation_env[i][klen] == '=')
                                break;
                if (i == MAX_ENV)
                        return -E2BIG;
                if (asprintf(&entry, "%s=%s", key, value) < 0)
                        return -ENOMEM;
                /* a replaced entry stays allocated: a child may still hold it through putenv() */
                activation_env[i] = entry;
                if (i == n_env)
                        n_env++;
        }
        return r;
}

static int on_controller_message(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_event *event = userdata;
        const char *path = sd_bus_message_get_path(m);
        (void) error;

        if (!path)
                return 0;
        if (sd_bus_message_is_signal(m, "org.bus1.DBus.Name", "Activate") &&
            strncmp(path, NAME_PREFIX, strlen(NAME_PREFIX)) == 0) {
                unsigned long i = strtoul(path + strlen(NAME_PREFIX), NULL, 10);
                uint64_t serial;
                int r = sd_bus_message_read(m, "t", &serial);
                if (r < 0 || i >= n_services)
                        return 0;
                r = service_start(event, i, serial);
                if (r < 0)
                        fprintf(stderr, "xferd-bench-broker: starting %s: %s\n", services[i].name, strerror(-r));
                return 0;
        }
        if (sd_bus_message_is_signal(m, "org.bus1.DBus.Broker", "SetActivationEnvironment")) {
                int r = set_activation_env(m);
                if (r < 0)
                        fprintf(stderr, "xferd-bench-broker: activation environment: %s\n", strerror(-r));
        }
        return 0;
}

static int on_broker_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), si->si_code == CLD_EXITED ? si->si_status : 1);
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        pid_t *broker = userdata;
        (void) si;
        (void) kill(*broker, SIGTERM);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void machine_id(char id[static 33]) {
        FILE *f = fopen("/etc/machine-id", "re");
        if (!f || !fgets(id, 33, f) || strlen(id) != 32)
                strcpy(id, "0123456789abcdef0123456789abcdef");
        if (f)
                fclose(f);
}

static pid_t broker_spawn(int controller_fd) {
        char fd_arg[16], id[33];
        pid_t pid;

        machine_id(id);
        pid = fork();
        if (pid != 0)
                return pid;
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        snprintf(fd_arg, sizeof fd_arg, "%d", controller_fd);
        /* fcntl(): the controller's end is the one descriptor the broker inherits */
        (void) fcntl(controller_fd, F_SETFD, 0);
        /* The limits: a ListJobs reply of 100 000 jobs is 17 MB, and the benchmarks pipeline calls. */
        execlp("dbus-broker", "dbus-broker", "--controller", fd_arg, "--machine-id", id,
               "--max-bytes", "1000000000", "--max-fds", "100000", "--max-matches", "1000000",
               "--max-objects", "1000000", (char *) NULL);
        fprintf(stderr, "xferd-bench-broker: cannot run dbus-broker: %s\n", strerror(errno));
        _exit(127);
}

/* The controller, in the background: the broker, its listener and names, then the loop.
 * Writes the broker's pid (or with `address`, the bus's address) to ready_fd once the bus serves. */
static int controller_run(int listen_fd, int ready_fd, bool print_address) {
        sd_event *event = NULL;
        sigset_t mask;
        int pair[2], r;
        pid_t broker;

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                die("socketpair", errno);
        broker = broker_spawn(pair[1]);
        if (broker < 0)
                die("fork", errno);
        close(pair[1]);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_child(event, NULL, broker, WEXITED, on_broker_exit, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_sigterm, &broker);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_sigterm, &broker);
        if (r >= 0)
                r = sd_bus_new(&controller);
        if (r >= 0)
                r = sd_bus_set_fd(controller, pair[0], pair[0]);
        if (r >= 0)
                r = sd_bus_add_filter(controller, NULL, on_controller_message, event);
        if (r >= 0)
                r = sd_bus_start(controller);
        if (r >= 0)
                r = add_listener(listen_fd);
        if (r >= 0)
                r = add_names();
        if (r >= 0)
                r = sd_bus_attach_event(controller, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                kill(broker, SIGTERM);
                die("setting up dbus-broker", r);
        }
        close(listen_fd);
        if (print_address)
                dprintf(ready_fd, "%s\n", address);
        else
                dprintf(ready_fd, "%d\n", (int) broker);
        close(ready_fd);
        r = sd_event_loop(event);
        sd_bus_flush_close_unref(controller);
        sd_event_unref(event);
        return r < 0 ? 1 : r;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "listen", required_argument, NULL, 'l' }, { "servicedir", required_argument, NULL, 's' },
                { "nofork", no_argument, NULL, 'n' }, { "print-address", required_argument, NULL, 'p' },
                { NULL, 0, NULL, 0 }
        };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *listen_path = NULL, *servicedir = NULL;
        char line[32] = "";
        int c, listen_fd, ready[2], print_fd = -1;
        bool nofork = false;
        ssize_t n;
        pid_t pid;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'l': listen_path = optarg; break;
                case 's': servicedir = optarg; break;
                case 'n': nofork = true; break;
                case 'p': print_fd = atoi(optarg); break;
                default: return 2;
                }
        }
        if (!listen_path || optind != argc || strlen(listen_path) >= sizeof sa.sun_path || nofork != (print_fd >= 0)) {
                fprintf(stderr, "usage: xferd-bench-broker --listen PATH [--servicedir DIR] "
                        "[--nofork --print-address FD]\n");
                return 2;
        }
        if (servicedir)
                services_load(servicedir);
        strcpy(sa.sun_path, listen_path);
        snprintf(address, sizeof address, "unix:path=%s", listen_path);
        (void) unlink(listen_path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(listen_fd, 4096) < 0)
                die(listen_path, errno);
        /* In the foreground, as the test fixture runs dbus-daemon: the address on print_fd. */
        if (nofork) {
                (void) fcntl(print_fd, F_SETFD, FD_CLOEXEC);
                return controller_run(listen_fd, print_fd, true);
        }
        if (pipe2(ready, O_CLOEXEC) < 0)
                die("pipe", errno);

        pid = fork();
        if (pid < 0)
                die("fork", errno);
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                close(ready[0]);
                /* Not holding the caller's stdout; but in the caller's session, as scripts/common.sh
                 * runs dbus-daemon: with the scheduler's autogroups a session of its own would give
                 * the bus and xferd a CPU share of their own against curl's on a loaded machine. */
                if (null >= 0) {
                        dup2(null, STDIN_FILENO);
                        dup2(null, STDOUT_FILENO);
                }
                return controller_run(listen_fd, ready[1], false);
        }
        close(ready[1]);
        close(listen_fd);
        n = read(ready[0], line, sizeof line - 1);
        if (n <= 0) {
                fprintf(stderr, "xferd-bench-broker: the bus did not start\n");
                return 1;
        }
        line[n] = 0;
        printf("%s\n%s", address, line);
        return 0;
}
