/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* xferd-bench: the measuring half of tests/bench/run.sh. It speaks only the public D-Bus API
 * (session bus, DBUS_SESSION_BUS_ADDRESS), times calls with CLOCK_MONOTONIC, and prints
 * key=value lines that run.sh parses. Calls are pipelined (up to --window outstanding), so
 * what is timed is the daemon, not a client that waits for every reply before the next call.
 *
 *   xferd-bench free-port
 *   xferd-bench pid
 *   xferd-bench run [--pid PID] -- CMD [ARG...]      wall, user, sys of CMD (+ PID's CPU);
 *                                                     CMD's stdout goes to /dev/null
 *   xferd-bench set-max N                             Manager.MaxBackgroundTransfers = N
 *   xferd-bench many-jobs --count N --url-prefix URL --dir DIR [--pid PID] [--window W]
 *   xferd-bench one-job   --count N --url-prefix URL --dir DIR [--pid PID] [--files-at-once K]
 *   xferd-bench cancel    --count N --samples S --url URL --dir DIR
 *                         [--background URL --checksum SUM|none [--resume-at BYTES] [--background-limit BPS]]
 *                         [--service NAME | --cold-us G]
 *       with --background: a Download of that URL with that checksum runs meanwhile (hashed as
 *       it is written; with --resume-at it is suspended once its file holds BYTES and resumed,
 *       so the bytes held are hashed from byte 0 while the rest arrives); when it ends, its file goes and it starts again,
 *       so that every one of the S Cancels is timed while one runs; --background-limit holds it
 *       to BPS bytes a second (its BandwidthLimit; after the resume with --resume-at); with $XFERD_BENCH_LATENCIES
 *       set to a file, each Cancel's time (ms) is appended to it, a line each;
 *       with --service NAME (an echo-serve): before every other Cancel the same client calls
 *       NAME's Download, timed apart (floor_*; $XFERD_BENCH_FLOOR_LATENCIES as above, one line
 *       per even-numbered Cancel): the bus's round trip to a service that does nothing, on the
 *       same CPUs at the same moments; with xferd's own name (org.xferd.Transfer1) a Peer.Ping
 *       instead, which xferd's loop answers past its bus filters, without a method handler of
 *       xferd's; the Cancels with and without the call before them are reported apart
 *       (floored_p99_ms, bare_p99_ms), the control for what that call does to them; with
 *       --cold-us G (not with --service) every other Cancel comes G µs after the client's last
 *       call, as from a client idle meanwhile, and the two halves are reported apart
 *       (cold_p50_ms, cold_p99_ms; warm_*: the Cancels sent at once, as the row's)
 *   xferd-bench floor     --service NAME [--samples S] [--gap-us G] [--pid BUSPID] [--server-pid PID]
 *                         [--background URL --checksum SUM|none --dir DIR [--background-limit BPS]]
 *       S calls that do no work (as cancel's --service), each followed by a pause of G µs
 *       (default 3000, about a Cancel's round of the cancel command), timed: floor_* as there;
 *       with --pid the bus's CPU over the calls (floor_bus_cpu_ms); over the calls (floor_wall_ms)
 *       the MiB the loopback device received and their rate (floor_lo_mib, floor_lo_mib_per_s),
 *       the host's TCP segments sent again, received out of order, and reported back as
 *       received twice (floor_retrans, floor_ofo, floor_dsack), and with --server-pid that
 *       process's CPU (floor_server_cpu_ms, its main thread: nginx's single worker); with
 *       --background while xferd downloads URL into DIR as cancel's --background (no other
 *       transfer; looked at every 50th call, restarted when done)
 *   xferd-bench queue     --count N --url URL --dir DIR [--window W] [--queued]
 *       N jobs of one file each: CreateJob + AddFile (suspended), or with --queued one
 *       Download call each (queued: the caller keeps MaxBackgroundTransfers low)
 *   xferd-bench cancel-queued [--samples S]   Cancel S of the caller's queued jobs (spread
 *                         over the queue) one after another, timed
 *   xferd-bench suspend-all [--window W]      Suspend every job of the caller, pipelined
 *   xferd-bench create    --count N --url URL --dir DIR [--pid PID] [--window W] [--service NAME]
 *       N Download calls of URL into DIR/cNNNNNN, pipelined; wall = the first call to the
 *       last reply (the jobs are not waited for: the creation path alone); to NAME instead of
 *       xferd: echo-serve's
 *   xferd-bench echo-serve --name NAME [--signals K | --contract]
 *       owns NAME and answers every Download at once with (s, o), after K signals of JobNew's
 *       shape: dbus-daemon's cost of a call, its reply and a signal without xferd's work; with
 *       --contract after the two signals the contract announces a new job with, in the shape
 *       and size xferd sends them (InterfacesAdded of 20 values, JobNew)
 *   xferd-bench list      [--reps R] [--method NAME]  time ListJobs, or NAME (ListJobsCompact),
 *                         activating xferd if needed; the
 *                         client's own CPU (cuser, csys) covers every call and reading its rows
 *   xferd-bench hang      --url URL --dir DIR --log FILE [--samples S]
 *                         a Download into DIR, whose fsync the daemon holds (XFERD_TEST_DELAY);
 *                         once FILE (xferd's log) says so, S ListJobs calls from a second
 *                         connection, timed, then checks the completion was still held
 *
 * File i of many-jobs and one-job is URL followed by i as four digits (…/f0007); its
 * destination is DIR/ followed by the URL's last path element. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define BUS_NAME      "org.xferd.Transfer1"
#define MANAGER_PATH  "/org/xferd/Transfer1"
#define MANAGER_IFACE "org.xferd.Transfer1.Manager"
#define JOB_IFACE     "org.xferd.Transfer1.Job"
#define CALL_TIMEOUT  (120ULL * 1000000ULL)

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *what, int r) {
        fprintf(stderr, "xferd-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

static void die_bus(const char *what, const sd_bus_error *e, int r) {
        if (e && sd_bus_error_is_set(e))
                fprintf(stderr, "xferd-bench: %s: %s: %s\n", what, e->name, e->message ? e->message : "");
        else
                fprintf(stderr, "xferd-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(1);
}

/* The job path of a CreateJob or Download reply, which it unreferences; r and e are the call's.
 * Exits when the call failed or the reply is not one. */
static char *reply_job_path(const char *method, int r, const sd_bus_error *e, sd_bus_message *reply) {
        const char *id, *job;
        char what[64];
        char *ret;

        if (r < 0)
                die_bus(method, e, r);
        r = sd_bus_message_read(reply, "so", &id, &job);
        if (r < 0) {
                snprintf(what, sizeof what, "bad %s reply", method);
                die(what, r);
        }
        ret = strdup(job);
        sd_bus_message_unref(reply);
        return ret;
}

static sd_bus *bus_open(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_user(&bus);
        if (r < 0)
                die("cannot connect to the session bus", r);
        return bus;
}

/* CPU seconds (user, sys) of a process from /proc/PID/stat; zeros when PID is 0 or gone. */
static void proc_cpu(pid_t pid, double *user, double *sys) {
        char path[64], buf[2048];
        FILE *f;
        size_t n;

        *user = *sys = 0;
        if (pid <= 0)
                return;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (!p)
                return;
        /* After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
        unsigned long long ut = 0, st = 0;
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return;
        double hz = (double) sysconf(_SC_CLK_TCK);
        *user = (double) ut / hz;
        *sys = (double) st / hz;
}

static void self_cpu(double *user, double *sys) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        *user = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6;
        *sys = (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/* The client's own CPU since (cu0, cs0) as cuser/csys. */
static void print_self_cpu(double cu0, double cs0) {
        double u, s;
        self_cpu(&u, &s);
        printf("cuser=%.3f\ncsys=%.3f\n", u - cu0, s - cs0);
}

static void print_daemon_cpu(pid_t pid, double u0, double s0) {
        double u1, s1;
        if (pid <= 0)
                return;
        proc_cpu(pid, &u1, &s1);
        printf("duser=%.3f\ndsys=%.3f\n", u1 - u0, s1 - s0);
}

/* ---- free-port, pid, run, set-max ---------------------------------------------------- */

static int cmd_free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &len) < 0)
                die("cannot find a free port", errno);
        printf("%u\n", (unsigned) ntohs(a.sin_port));
        close(fd);
        return 0;
}

static int cmd_pid(void) {
        sd_bus *bus = bus_open();
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        uint32_t pid;
        int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "GetConnectionUnixProcessID", &e, &reply, "s", BUS_NAME);
        if (r < 0)
                die_bus("GetConnectionUnixProcessID", &e, r);
        r = sd_bus_message_read(reply, "u", &pid);
        if (r < 0)
                die("bad reply", r);
        printf("%u\n", pid);
        return 0;
}

static int cmd_run(pid_t dpid, char **argv) {
        double u0, s0, t0, t1;
        struct rusage ru;
        int status;

        proc_cpu(dpid, &u0, &s0);
        t0 = now_s();
        pid_t child = fork();
        if (child < 0)
                die("fork", errno);
        if (child == 0) {
                /* Its stdout (e.g. xferctl's "Downloaded to") would mix with our key=value lines. */
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        dup2(null, STDOUT_FILENO);
                execvp(argv[0], argv);
                fprintf(stderr, "xferd-bench: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        if (wait4(child, &status, 0, &ru) < 0)
                die("wait4", errno);
        t1 = now_s();
        printf("wall=%.4f\nuser=%.3f\nsys=%.3f\n", t1 - t0,
               (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6,
               (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6);
        print_daemon_cpu(dpid, u0, s0);
        int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        printf("status=%d\n", rc);
        return rc;
}

static void set_max(sd_bus *bus, uint32_t n) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_set_property(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "MaxBackgroundTransfers", &e, "u", n);
        if (r < 0)
                die_bus("setting MaxBackgroundTransfers", &e, r);
}

/* ---- many-jobs: N Download calls, pipelined; done when N JobRemoved arrived -------------- */

typedef struct Many {
        unsigned outstanding, replies, errors, removed_ok, removed_bad;
} Many;

static int on_download_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Many *s = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        s->outstanding--;
        s->replies++;
        if (e) {
                if (s->errors++ < 3)
                        fprintf(stderr, "xferd-bench: call failed: %s: %s\n", e->name, e->message);
        }
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Many *s = userdata;
        const char *id, *path, *state;

        if (sd_bus_message_read(m, "sos", &id, &path, &state) < 0)
                return 0;
        if (strcmp(state, "acknowledged") == 0)
                s->removed_ok++;
        else {
                if (s->removed_bad++ < 3)
                        fprintf(stderr, "xferd-bench: job %s ended %s\n", id, state);
        }
        return 0;
}

static void pump(sd_bus *bus) {
        int r;
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        die("sd_bus_process", r);
                if (r == 0)
                        break;
        }
}

static void wait_bus(sd_bus *bus) {
        int r = sd_bus_wait(bus, UINT64_MAX);
        if (r < 0 && r != -EINTR)
                die("sd_bus_wait", r);
}

static void make_paths(const char *prefix, const char *dir, unsigned i, char *url, size_t url_size,
                       char *path, size_t path_size) {
        snprintf(url, url_size, "%s%04u", prefix, i);
        const char *base = strrchr(url, '/');
        snprintf(path, path_size, "%s/%s", dir, base ? base + 1 : url);
}

/* One Download call whose reply on_download_reply() counts into s. */
static void send_download_to(sd_bus *bus, const char *service, Many *s, const char *url, const char *path) {
        int r = sd_bus_call_method_async(bus, NULL, service, MANAGER_PATH, MANAGER_IFACE, "Download",
                                         on_download_reply, s, "ssa{sv}", url, path, 0);
        if (r < 0)
                die("cannot send Download", r);
        s->outstanding++;
}

static void send_download(sd_bus *bus, Many *s, const char *url, const char *path) {
        send_download_to(bus, BUS_NAME, s, url, path);
}

static int cmd_many_jobs(unsigned count, const char *prefix, const char *dir, pid_t dpid, unsigned window) {
        sd_bus *bus = bus_open();
        Many s = { 0 };
        unsigned sent = 0;
        double u0, s0, cu0, cs0, t0, t_replies = 0, t1;
        int r;

        r = sd_bus_match_signal(bus, NULL, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "JobRemoved", on_job_removed, &s);
        if (r < 0)
                die("cannot add a match", r);

        self_cpu(&cu0, &cs0);
        proc_cpu(dpid, &u0, &s0);
        t0 = now_s();
        while (s.removed_ok + s.removed_bad < count && s.errors == 0) {
                while (sent < count && s.outstanding < window) {
                        char url[1024], path[1200];
                        make_paths(prefix, dir, sent, url, sizeof url, path, sizeof path);
                        send_download(bus, &s, url, path);
                        sent++;
                }
                pump(bus);
                if (!t_replies && s.replies == count)
                        t_replies = now_s();
                /* Wait only when no call can go out now: never leave the window half empty. */
                if (s.removed_ok + s.removed_bad < count && s.errors == 0 &&
                    !(sent < count && s.outstanding < window))
                        wait_bus(bus);
        }
        t1 = now_s();
        printf("wall=%.4f\ncalls=%.4f\nok=%u\nfailed=%u\n", t1 - t0, (t_replies ? t_replies : t1) - t0,
               s.removed_ok, s.removed_bad + s.errors);
        print_daemon_cpu(dpid, u0, s0);
        print_self_cpu(cu0, cs0);
        sd_bus_flush_close_unref(bus);
        return s.removed_bad + s.errors ? 1 : 0;
}

/* ---- create: N Download calls, pipelined; done at the last reply ------------------------- */

static int cmd_create(unsigned count, const char *service, const char *url, const char *dir, pid_t dpid,
                      unsigned window) {
        sd_bus *bus = bus_open();
        Many s = { 0 };
        unsigned sent = 0;
        double u0, s0, cu0, cs0, t0, t1;

        proc_cpu(dpid, &u0, &s0);
        self_cpu(&cu0, &cs0);
        t0 = now_s();
        while (s.replies < count && s.errors == 0) {
                while (sent < count && s.outstanding < window) {
                        char path[1200];
                        snprintf(path, sizeof path, "%s/c%06u", dir, sent);
                        send_download_to(bus, service, &s, url, path);
                        sent++;
                }
                pump(bus);
                if (s.replies < count && s.errors == 0 && !(sent < count && s.outstanding < window))
                        wait_bus(bus);
        }
        t1 = now_s();
        printf("wall=%.4f\njobs=%u\nfailed=%u\nrate=%.0f\n", t1 - t0, s.replies - s.errors, s.errors,
               (double) s.replies / (t1 - t0));
        print_daemon_cpu(dpid, u0, s0);
        print_self_cpu(cu0, cs0);
        sd_bus_flush_close_unref(bus);
        return s.errors ? 1 : 0;
}

/* ---- echo-serve: a trivial service of Download's shape, dbus-daemon's floor ------------- */

typedef struct Echo {
        unsigned signals;
        bool contract;
        uint64_t n;
} Echo;

/* What xferd announces of a new job (docs/api.md), each value as a job just queued has it. */
static int echo_contract_signals(sd_bus *bus, const char *id, const char *job) {
        sd_bus_message *s = NULL;
        uint64_t now = (uint64_t) (now_s() * 1e6);
        int r;

        r = sd_bus_message_new_signal(bus, &s, MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                      "InterfacesAdded");
        if (r >= 0)
                r = sd_bus_message_append(s, "oa{sa{sv}}", job, 4, JOB_IFACE, 20, "Id", "s", id, "Type", "s", "download",
                                          "Owner", "u", 0, "State", "s", "queued", "CreationTime", "t", now,
                                          "ModificationTime", "t", now, "TransferCompletionTime", "t", UINT64_C(0),
                                          "ErrorName", "s", "", "ErrorCount", "u", 0, "NextRetryTime", "t", UINT64_C(0),
                                          "BytesTransferred", "t", UINT64_C(0), "BytesTotal", "t", UINT64_MAX,
                                          "FilesTransferred", "u", 0, "FilesTotal", "u", 1, "CurrentFile", "u", 0,
                                          "Rate", "t", UINT64_C(0), "ExpectedEndTime", "t", UINT64_C(0),
                                          "BytesFromCache", "t", UINT64_C(0), "BytesFromOrigin", "t", UINT64_C(0),
                                          "WaitReason", "s", "max-transfers",
                                          "org.freedesktop.DBus.Peer", 0, "org.freedesktop.DBus.Introspectable", 0,
                                          "org.freedesktop.DBus.Properties", 0);
        if (r >= 0)
                r = sd_bus_send(bus, s, NULL);
        s = sd_bus_message_unref(s);
        if (r >= 0)
                r = sd_bus_emit_signal(bus, MANAGER_PATH, MANAGER_IFACE, "JobNew", "so", id, job);
        return r;
}

/* Answers (s id, o job) at once, after `signals` signals of JobNew's shape: what dbus-daemon
 * spends on a call, its reply and each signal, without xferd's work. */
static int method_echo_download(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Echo *e = userdata;
        const char *url, *path;
        char id[40], job[128];
        int r;

        r = sd_bus_message_read(m, "ss", &url, &path);
        if (r < 0)
                return r;
        snprintf(id, sizeof id, "%032" PRIx64, ++e->n);
        snprintf(job, sizeof job, "%s/job/%s", MANAGER_PATH, id);
        if (e->contract) {
                r = echo_contract_signals(sd_bus_message_get_bus(m), id, job);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < e->signals; i++) {
                r = sd_bus_emit_signal(sd_bus_message_get_bus(m), MANAGER_PATH, MANAGER_IFACE, "JobNew", "so", id,
                                       job);
                if (r < 0)
                        return r;
        }
        return sd_bus_reply_method_return(m, "so", id, job);
}

static const sd_bus_vtable echo_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Download", "ssa{sv}", "so", method_echo_download, 0),
        SD_BUS_SIGNAL("JobNew", "so", 0),
        SD_BUS_VTABLE_END
};

static int cmd_echo_serve(const char *name, unsigned signals, bool contract) {
        sd_bus *bus = bus_open();
        Echo e = { .signals = signals, .contract = contract };
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, MANAGER_PATH, MANAGER_IFACE, echo_vtable, &e);
        if (r < 0)
                die("cannot add the echo object", r);
        r = sd_bus_request_name(bus, name, 0);
        if (r < 0)
                die("cannot own the echo service's name", r);
        printf("ready=%d\n", (int) getpid());
        /* Until killed. */
        while ((r = sd_bus_process(bus, NULL)) >= 0)
                if (r == 0)
                        wait_bus(bus);
        die("sd_bus_process", r);
        return 1;
}

/* ---- one-job: CreateJob + AddFiles(N) + Resume + wait + Complete ------------------------- */

typedef struct One {
        bool transferred, failed;
} One;

static int on_transferred(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ((One *) userdata)->transferred = true;
        return 0;
}

static int on_failed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name = "", *msg = "";
        (void) sd_bus_message_read(m, "ss", &name, &msg);
        fprintf(stderr, "xferd-bench: job failed: %s: %s\n", name, msg);
        ((One *) userdata)->failed = true;
        return 0;
}

/* at_once: the job's MaxConcurrentFiles (0: the default). */
static int cmd_one_job(unsigned count, const char *prefix, const char *dir, pid_t dpid, unsigned at_once) {
        sd_bus *bus = bus_open();
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL, *call = NULL;
        char *job = NULL;
        One s = { 0 };
        double u0, s0, cu0, cs0, t0, t_added, t_transferred, t1;
        int partial = 0, r;

        self_cpu(&cu0, &cs0);
        proc_cpu(dpid, &u0, &s0);
        t0 = now_s();
        if (at_once > 0)
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CreateJob", &e, &reply, "sa{sv}",
                                       "bench-one-job", 1, "max-concurrent-files", "u", at_once);
        else
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CreateJob", &e, &reply, "sa{sv}",
                                       "bench-one-job", 0);
        job = reply_job_path("CreateJob", r, &e, reply);
        reply = NULL;

        r = sd_bus_match_signal(bus, NULL, BUS_NAME, job, JOB_IFACE, "Transferred", on_transferred, &s);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, BUS_NAME, job, JOB_IFACE, "Failed", on_failed, &s);
        if (r < 0)
                die("cannot add a match", r);

        r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, job, JOB_IFACE, "AddFiles");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "(ss)");
        for (unsigned i = 0; r >= 0 && i < count; i++) {
                char url[1024], path[1200];
                make_paths(prefix, dir, i, url, sizeof url, path, sizeof path);
                r = sd_bus_message_append(call, "(ss)", url, path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                die("cannot build AddFiles", r);
        r = sd_bus_call(bus, call, CALL_TIMEOUT, &e, NULL);
        if (r < 0)
                die_bus("AddFiles", &e, r);
        call = sd_bus_message_unref(call);
        t_added = now_s();

        r = sd_bus_call_method(bus, BUS_NAME, job, JOB_IFACE, "Resume", &e, NULL, "");
        if (r < 0)
                die_bus("Resume", &e, r);
        while (!s.transferred && !s.failed) {
                pump(bus);
                if (!s.transferred && !s.failed)
                        wait_bus(bus);
        }
        t_transferred = now_s();
        if (s.failed)
                return 1;

        r = sd_bus_call_method(bus, BUS_NAME, job, JOB_IFACE, "Complete", &e, &reply, "");
        if (r < 0)
                die_bus("Complete", &e, r);
        (void) sd_bus_message_read(reply, "b", &partial);
        t1 = now_s();
        printf("wall=%.4f\nadd=%.4f\ntransfer=%.4f\ncomplete=%.4f\npartial=%d\n", t1 - t0, t_added - t0,
               t_transferred - t_added, t1 - t_transferred, partial);
        print_daemon_cpu(dpid, u0, s0);
        print_self_cpu(cu0, cs0);
        sd_bus_message_unref(reply);
        free(job);
        sd_bus_flush_close_unref(bus);
        return partial ? 1 : 0;
}

/* ---- cancel: latency of Cancel with N transfers running -------------------------------- */

static char *get_state(sd_bus *bus, const char *job) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *state = NULL;
        int r = sd_bus_get_property_string(bus, BUS_NAME, job, JOB_IFACE, "State", &e, &state);
        if (r < 0)
                die_bus("reading State", &e, r);
        return state;
}

/* The temporary path of the job's only file. */
static char *get_temp_path(sd_bus *bus, const char *job) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *url, *local, *temp;
        uint64_t total, done;
        int completed, r;

        r = sd_bus_call_method(bus, BUS_NAME, job, JOB_IFACE, "ListFiles", &e, &reply, "");
        if (r < 0)
                die_bus("ListFiles", &e, r);
        r = sd_bus_message_read(reply, "a(sssttb)", 1, &url, &local, &temp, &total, &done, &completed);
        if (r <= 0)
                die("bad ListFiles reply", r);
        char *ret = strdup(temp);
        sd_bus_message_unref(reply);
        return ret;
}

static char *start_download_checked(sd_bus *bus, const char *url, const char *path, const char *checksum) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = checksum ?
                sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Download", &e, &reply, "ssa{sv}",
                                   url, path, 2, "auto-complete", "b", 0, "checksum", "s", checksum) :
                sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Download", &e, &reply, "ssa{sv}",
                                   url, path, 1, "auto-complete", "b", 0);
        return reply_job_path("Download", r, &e, reply);
}

static char *start_download(sd_bus *bus, const char *url, const char *path) {
        return start_download_checked(bus, url, path, NULL);
}

static void job_call(sd_bus *bus, const char *job, const char *method) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, BUS_NAME, job, JOB_IFACE, method, &e, NULL, "");
        if (r < 0)
                die_bus(method, &e, r);
}

/* Still queued, connecting or transferring (the bytes written hashed meanwhile). */
static bool job_active(sd_bus *bus, const char *job) {
        char *state = get_state(bus, job);
        bool active = strcmp(state, "connecting") == 0 || strcmp(state, "transferring") == 0 ||
                      strcmp(state, "queued") == 0;
        free(state);
        return active;
}

/* Waits until the job is transferring and its temporary file holds bytes; returns that path. */
static char *wait_transferring(sd_bus *bus, const char *job) {
        double deadline = now_s() + 60;
        while (now_s() < deadline) {
                char *state = get_state(bus, job);
                bool ok = strcmp(state, "transferring") == 0;
                if (strcmp(state, "error") == 0 || strcmp(state, "transient-error") == 0) {
                        fprintf(stderr, "xferd-bench: job %s is in %s\n", job, state);
                        exit(1);
                }
                free(state);
                if (ok) {
                        char *temp = get_temp_path(bus, job);
                        struct stat st;
                        if (lstat(temp, &st) == 0 && st.st_size > 0)
                                return temp;
                        free(temp);
                }
                usleep(2000);
        }
        fprintf(stderr, "xferd-bench: job %s did not start transferring within 60 s\n", job);
        exit(1);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *v, unsigned n, double p) {
        unsigned k = (unsigned) (p / 100.0 * n + 0.999999);
        if (k < 1)
                k = 1;
        if (k > n)
                k = n;
        return v[k - 1];
}

typedef struct Background {
        const char *url, *checksum;
        uint64_t resume_at;
        uint64_t limit;         /* the download's BandwidthLimit (bytes/s), 0 = none */
} Background;

static void set_bandwidth(sd_bus *bus, const char *job, uint64_t bps) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_set_property(bus, BUS_NAME, job, JOB_IFACE, "BandwidthLimit", &e, "t", bps);
        if (r < 0)
                die_bus("setting BandwidthLimit", &e, r);
}

/* The download that runs (and is hashed) while Cancels are timed; returns its job. With
 * resume_at it is held to a rate that takes two seconds to get there, so the Suspend comes
 * in time however fast the machine, then resumed at full speed. */
static char *background_start(sd_bus *bus, const Background *bg, const char *dir) {
        static unsigned serial;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char path[1200];
        int r;

        snprintf(path, sizeof path, "%s/background.%u", dir, serial++);
        /* Foreground: it runs beside the transfers that fill every background slot. */
        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CreateJob", &e, &reply, "sa{sv}",
                               "background", 1, "priority", "s", "foreground");
        char *ret = reply_job_path("CreateJob", r, &e, reply);
        /* --checksum none: the same download unchecked, for comparison. */
        if (strcmp(bg->checksum, "none") == 0)
                r = sd_bus_call_method(bus, BUS_NAME, ret, JOB_IFACE, "AddFile", &e, NULL, "ss", bg->url, path);
        else
                r = sd_bus_call_method(bus, BUS_NAME, ret, JOB_IFACE, "AddFileWithOptions", &e, NULL, "ssa{sv}",
                                       bg->url, path, 1, "checksum", "s", bg->checksum);
        if (r < 0)
                die_bus("AddFileWithOptions", &e, r);
        if (bg->resume_at > 0)
                set_bandwidth(bus, ret, bg->resume_at / 2);
        else if (bg->limit > 0)
                set_bandwidth(bus, ret, bg->limit);
        job_call(bus, ret, "Resume");
        if (bg->resume_at > 0) {
                char *temp = wait_transferring(bus, ret);
                struct stat st;
                double deadline = now_s() + 120;
                while (lstat(temp, &st) < 0 || (uint64_t) st.st_size < bg->resume_at) {
                        if (now_s() > deadline) {
                                fprintf(stderr, "xferd-bench: the background download did not reach %" PRIu64 " bytes\n",
                                        bg->resume_at);
                                exit(1);
                        }
                        usleep(1000);
                }
                job_call(bus, ret, "Suspend");
                set_bandwidth(bus, ret, bg->limit);
                job_call(bus, ret, "Resume");
                free(temp);
        }
        return ret;
}

/* Appends each value (ms) to the file named by $var, a line each. */
static void dump_latencies(const char *var, const double *lat, unsigned n) {
        const char *dump = getenv(var);
        if (dump && !*dump)
                dump = NULL;  /* set to nothing: not asked for */
        FILE *f = dump ? fopen(dump, "ae") : NULL;
        if (dump && !f)
                fprintf(stderr, "xferd-bench: cannot append to %s: %s\n", dump, strerror(errno));
        for (unsigned i = 0; f && i < n; i++)
                fprintf(f, "%.3f\n", lat[i]);
        if (f && fclose(f) != 0)
                fprintf(stderr, "xferd-bench: cannot write %s: %s\n", dump, strerror(errno));
}

/* One call that does no work, timed (ms): the echo service's Download, or with xferd's own
 * name a Peer.Ping, which sd-bus answers in xferd's loop past xferd's bus filters, without a
 * method handler of xferd's. */
static double floor_call(sd_bus *bus, const char *service) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        bool ping = strcmp(service, BUS_NAME) == 0;
        double t0 = now_s();
        int r = ping ? sd_bus_call_method(bus, service, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", &e, NULL, "")
                     : sd_bus_call_method(bus, service, MANAGER_PATH, MANAGER_IFACE, "Download", &e, NULL, "ssa{sv}",
                                          "http://127.0.0.1/floor", "/nonexistent/floor", 0);
        double t1 = now_s();
        if (r < 0)
                die_bus(ping ? "xferd's Peer.Ping" : "the echo service's Download", &e, r);
        return (t1 - t0) * 1000.0;
}

static void print_floor(double *flat, unsigned n) {
        qsort(flat, n, sizeof *flat, cmp_double);
        printf("floor_p50_ms=%.3f\nfloor_p90_ms=%.3f\nfloor_p99_ms=%.3f\nfloor_max_ms=%.3f\n", percentile(flat, n, 50),
               percentile(flat, n, 90), percentile(flat, n, 99), flat[n - 1]);
}

/* The background download is over: it goes (Cancel removes its file) and the same starts
 * again; returns the new job. */
static char *background_renew(sd_bus *bus, char *job, const Background *bg, const char *dir) {
        (void) sd_bus_call_method(bus, BUS_NAME, job, JOB_IFACE, "Cancel", NULL, NULL, "");
        free(job);
        return background_start(bus, bg, dir);
}

/* The ns a process's main thread has run (schedstat's first field; 0 when unreadable): finer
 * than utime + stime, whose ticks are 10 ms here. The bus is one thread. */
static uint64_t proc_run_ns(pid_t pid) {
        char path[64];
        unsigned long long ns = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/schedstat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        if (fscanf(f, "%llu", &ns) != 1)
                ns = 0;
        fclose(f);
        return ns;
}

/* A counter of the kernel's TCP tables (/proc/net/snmp's "Tcp", /proc/net/netstat's "TcpExt"):
 * each table is a line of names, then a line of values. 0 when it cannot be read. */
static uint64_t net_counter(const char *file, const char *table, const char *name) {
        char names[8192], values[8192];
        size_t tlen = strlen(table);
        uint64_t v = 0;
        FILE *f = fopen(file, "re");

        if (!f)
                return 0;
        while (fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
                if (strncmp(names, table, tlen) != 0 || names[tlen] != ':')
                        continue;
                char *sn, *sv;
                char *n = strtok_r(names + tlen + 1, " \n", &sn);
                char *val = strtok_r(values + tlen + 1, " \n", &sv);
                for (; n && val; n = strtok_r(NULL, " \n", &sn), val = strtok_r(NULL, " \n", &sv))
                        if (strcmp(n, name) == 0) {
                                v = strtoull(val, NULL, 10);
                                break;
                        }
                break;
        }
        fclose(f);
        return v;
}

/* The bytes the loopback device has received: the downloads from the bench's nginx, and
 * little else (the bus is a Unix socket). */
static uint64_t loopback_bytes(void) {
        char line[512];
        unsigned long long v = 0;
        FILE *f = fopen("/proc/net/dev", "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, " lo: %llu", &v) == 1)
                        break;
        fclose(f);
        return v;
}

typedef struct HostCounters {
        uint64_t lo_bytes, retrans, ofo, dsack, server_ns;
} HostCounters;

static HostCounters host_counters(pid_t server_pid) {
        return (HostCounters) {
                .lo_bytes = loopback_bytes(),
                .retrans = net_counter("/proc/net/snmp", "Tcp", "RetransSegs"),
                .ofo = net_counter("/proc/net/netstat", "TcpExt", "TCPOFOQueue"),
                .dsack = net_counter("/proc/net/netstat", "TcpExt", "TCPDSACKRecv"),
                .server_ns = server_pid > 0 ? proc_run_ns(server_pid) : 0,
        };
}

/* Calls that do no work, gap_us apart, with nothing of the bench's own between them; with a
 * background, while xferd downloads it as cancel's --background does (restarted when done). */
static int cmd_floor(const char *service, unsigned samples, unsigned gap_us, const Background *bg,
                     const char *dir, pid_t bus_pid, pid_t server_pid) {
        sd_bus *bus = bus_open();
        double *flat = calloc(samples, sizeof *flat);
        char *background = NULL;
        unsigned restarts = 0;

        if (samples == 0) {
                fprintf(stderr, "xferd-bench: floor needs --samples 1 or more\n");
                exit(2);
        }
        if (!flat)
                die("cannot allocate the samples", -ENOMEM);
        if (bg->url) {
                background = background_start(bus, bg, dir);
                free(wait_transferring(bus, background));
        }
        /* The bus's CPU over the samples alone, not the background's start. */
        uint64_t ns0 = bus_pid > 0 ? proc_run_ns(bus_pid) : 0;
        HostCounters h0 = host_counters(server_pid);
        double w0 = now_s();
        for (unsigned s = 0; s < samples; s++) {
                /* Every 50th sample only (150 ms and more apart): a call to xferd before each
                 * would be in the floor that curl's and dd's rows do not have. */
                if (background && s % 50 == 49 && !job_active(bus, background)) {
                        background = background_renew(bus, background, bg, dir);
                        restarts++;
                }
                flat[s] = floor_call(bus, service);
                usleep(gap_us);
        }
        double wall = now_s() - w0;
        HostCounters h1 = host_counters(server_pid);
        if (bus_pid > 0)
                printf("floor_bus_cpu_ms=%.1f\n", (double) (proc_run_ns(bus_pid) - ns0) / 1e6);
        printf("floor_wall_ms=%.0f\nfloor_lo_mib=%.0f\nfloor_lo_mib_per_s=%.0f\n"
               "floor_retrans=%" PRIu64 "\nfloor_ofo=%" PRIu64 "\nfloor_dsack=%" PRIu64 "\n",
               wall * 1000.0, (double) (h1.lo_bytes - h0.lo_bytes) / 1048576.0,
               (double) (h1.lo_bytes - h0.lo_bytes) / 1048576.0 / wall, h1.retrans - h0.retrans,
               h1.ofo - h0.ofo, h1.dsack - h0.dsack);
        if (server_pid > 0)
                printf("floor_server_cpu_ms=%.1f\n", (double) (h1.server_ns - h0.server_ns) / 1e6);
        if (background) {
                printf("background_restarts=%u\n", restarts);
                (void) sd_bus_call_method(bus, BUS_NAME, background, JOB_IFACE, "Cancel", NULL, NULL, "");
                free(background);
        }
        dump_latencies("XFERD_BENCH_FLOOR_LATENCIES", flat, samples);
        print_floor(flat, samples);
        free(flat);
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* NAME_p50_ms and NAME_p99_ms of every other value of v (v[0], v[2], …): the Cancels with and
 * without what was done before every other one. */
static void print_halves(const double *v, unsigned n, const char *name) {
        unsigned k = (n + 1) / 2;
        double *half;

        if (k == 0)
                return;
        half = calloc(k, sizeof *half);
        if (!half)
                die("cannot split the Cancels", -ENOMEM);
        for (unsigned i = 0; i < k; i++)
                half[i] = v[2 * i];
        qsort(half, k, sizeof *half, cmp_double);
        printf("%s_p50_ms=%.3f\n%s_p99_ms=%.3f\n", name, percentile(half, k, 50), name, percentile(half, k, 99));
        free(half);
}

static int cmd_cancel(unsigned count, unsigned samples, const char *url, const char *dir, const Background *bg,
                      const char *floor_service, unsigned cold_us) {
        sd_bus *bus = bus_open();
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **jobs = calloc(count, sizeof *jobs), **temps = calloc(count, sizeof *temps);
        double *lat = calloc(samples, sizeof *lat), *flat = calloc(samples, sizeof *flat), sum = 0;
        unsigned leftovers = 0, serial = 0;
        char path[1200];
        int r;

        set_max(bus, count);
        for (unsigned i = 0; i < count; i++) {
                snprintf(path, sizeof path, "%s/c%05u", dir, serial++);
                jobs[i] = start_download(bus, url, path);
        }
        for (unsigned i = 0; i < count; i++)
                temps[i] = wait_transferring(bus, jobs[i]);
        char *background = bg->url ? background_start(bus, bg, dir) : NULL;
        unsigned restarts = 0;

        unsigned s;
        for (s = 0; s < samples; s++) {
                /* Every Cancel is timed while the background download runs: once it is over it
                 * goes (Cancel removes its file) and a new one starts. */
                if (background && !job_active(bus, background)) {
                        background = background_renew(bus, background, bg, dir);
                        restarts++;
                }
                unsigned k = s % count;
                struct stat st;

                /* Before every other Cancel only: the Cancels without one are the control for
                 * what the call before does to the Cancel. */
                if (floor_service && s % 2 == 0)
                        flat[s / 2] = floor_call(bus, floor_service);
                /* A client idle for a while before it cancels, as most are: the client, the bus
                 * and xferd's idle threads asleep, not just back from the call before. */
                if (cold_us > 0 && s % 2 == 0)
                        usleep(cold_us);
                double t0 = now_s();
                r = sd_bus_call_method(bus, BUS_NAME, jobs[k], JOB_IFACE, "Cancel", &e, NULL, "");
                double t1 = now_s();
                if (r < 0)
                        die_bus("Cancel", &e, r);
                if (lstat(temps[k], &st) == 0) {
                        leftovers++;
                        fprintf(stderr, "xferd-bench: %s still exists after Cancel returned\n", temps[k]);
                }
                lat[s] = (t1 - t0) * 1000.0;
                sum += lat[s];
                free(jobs[k]);
                free(temps[k]);
                /* Keep N transfers running: a new one in the cancelled one's place. */
                snprintf(path, sizeof path, "%s/c%05u", dir, serial++);
                jobs[k] = start_download(bus, url, path);
                temps[k] = wait_transferring(bus, jobs[k]);
        }
        for (unsigned i = 0; i < count; i++) {
                (void) sd_bus_call_method(bus, BUS_NAME, jobs[i], JOB_IFACE, "Cancel", NULL, NULL, "");
                free(jobs[i]);
                free(temps[i]);
        }
        if (background) {
                char *state = get_state(bus, background);
                printf("background_state=%s\nbackground_restarts=%u\n", state, restarts);
                free(state);
                (void) sd_bus_call_method(bus, BUS_NAME, background, JOB_IFACE, "Cancel", NULL, NULL, "");
                free(background);
        }
        samples = s;

        /* Every Cancel's time, one a line, for figures pooled over rounds. */
        dump_latencies("XFERD_BENCH_LATENCIES", lat, samples);
        if (cold_us > 0) {
                print_halves(lat, samples, "cold");
                print_halves(lat + 1, samples - (samples > 0), "warm");
        }
        if (floor_service && samples > 0) {
                dump_latencies("XFERD_BENCH_FLOOR_LATENCIES", flat, (samples + 1) / 2);
                print_floor(flat, (samples + 1) / 2);
                print_halves(lat, samples, "floored");
                print_halves(lat + 1, samples - (samples > 0), "bare");
        }

        qsort(lat, samples, sizeof *lat, cmp_double);
        printf("running=%u\nsamples=%u\np50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\nmean_ms=%.3f\nleftovers=%u\n",
               count, samples, percentile(lat, samples, 50), percentile(lat, samples, 90),
               percentile(lat, samples, 99), lat[samples - 1], sum / samples, leftovers);
        free(lat);
        free(flat);
        free(jobs);
        free(temps);
        sd_bus_flush_close_unref(bus);
        return 0;  /* leftovers are a result to report, not a failure of the measurement */
}

/* ---- queue: N suspended jobs of one file each, pipelined ----------------------------------- */

/* Calls sent pipelined, and their replies counted. */
typedef struct Queue {
        sd_bus *bus;
        const char *call;       /* the method whose replies are counted, for messages */
        const char *url, *dir;
        bool queued;
        char **jobs;
        unsigned outstanding, created, added, errors;
} Queue;

/* A reply to one of the counted calls: done, or failed. */
static int on_counted_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Queue *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        q->outstanding--;
        if (e) {
                if (q->errors++ < 3)
                        fprintf(stderr, "xferd-bench: %s failed: %s: %s\n", q->call, e->name, e->message);
        } else
                q->added++;
        return 0;
}

/* Sends n calls (send(q, i) sends the i-th), at most `window` of them unanswered at once,
 * until every one is answered or one failed. */
static void pipeline(Queue *q, unsigned n, unsigned window, int (*send)(Queue *q, unsigned i)) {
        unsigned sent = 0;

        while (q->added + q->errors < n && q->errors == 0) {
                while (sent < n && q->outstanding < window) {
                        int r = send(q, sent);
                        if (r < 0)
                                die("cannot send a call", r);
                        sent++;
                        q->outstanding++;
                }
                pump(q->bus);
                if (q->added + q->errors < n && q->errors == 0 && !(sent < n && q->outstanding < window))
                        wait_bus(q->bus);
        }
}

static int on_create_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Queue *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *id, *job;
        char path[1200];
        int r;

        if (e || sd_bus_message_read(m, "so", &id, &job) < 0) {
                q->outstanding--;
                if (q->errors++ < 3)
                        fprintf(stderr, "xferd-bench: CreateJob failed: %s: %s\n", e ? e->name : "?",
                                e ? e->message : "bad reply");
                return 0;
        }
        snprintf(path, sizeof path, "%s/q%06u", q->dir, q->created++);
        r = sd_bus_call_method_async(q->bus, NULL, BUS_NAME, job, JOB_IFACE, "AddFile", on_counted_reply, q, "ss",
                                     q->url, path);
        if (r < 0)
                die("cannot send AddFile", r);
        return 0;
}

/* The i-th job of cmd_queue(): a Download (queued) or a CreateJob whose reply adds the file. */
static int send_queued(Queue *q, unsigned i) {
        char name[32], path[1200];

        snprintf(name, sizeof name, "queued-%06u", i);
        snprintf(path, sizeof path, "%s/q%06u", q->dir, i);
        if (q->queued)
                return sd_bus_call_method_async(q->bus, NULL, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Download",
                                                on_counted_reply, q, "ssa{sv}", q->url, path, 1, "auto-complete", "b",
                                                0);
        return sd_bus_call_method_async(q->bus, NULL, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "CreateJob",
                                        on_create_reply, q, "sa{sv}", name, 0);
}

static int cmd_queue(unsigned count, const char *url, const char *dir, unsigned window, bool queued) {
        Queue q = { .bus = bus_open(), .call = queued ? "Download" : "AddFile", .url = url, .dir = dir,
                    .queued = queued };
        double t0, t1;

        t0 = now_s();
        pipeline(&q, count, window, send_queued);
        t1 = now_s();
        printf("wall=%.4f\njobs=%u\nfailed=%u\n", t1 - t0, q.added, q.errors);
        sd_bus_flush_close_unref(q.bus);
        return q.errors ? 1 : 0;
}

/* ---- cancel-queued, suspend-all: calls on the jobs ListJobs gives ---------------------------- */

/* The object paths of the caller's jobs, in queue order; with `state`, only those in it. */
static char **list_job_paths(sd_bus *bus, const char *state, unsigned *ret_n) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *id, *name, *type, *st, *path;
        uint32_t owner;
        uint64_t done, total;
        char **v = NULL;
        unsigned n = 0, allocated = 0;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ListJobs", &e, &reply, "b", 0);
        if (r < 0)
                die_bus("ListJobs", &e, r);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssutto)");
        while (r > 0 && (r = sd_bus_message_read(reply, "(ssssutto)", &id, &name, &type, &st, &owner, &done, &total,
                                                 &path)) > 0) {
                if (state && strcmp(st, state) != 0)
                        continue;
                if (n == allocated) {
                        allocated = allocated ? allocated * 2 : 1024;
                        v = realloc(v, allocated * sizeof *v);
                        if (!v)
                                die("out of memory", ENOMEM);
                }
                v[n++] = strdup(path);
        }
        if (r < 0)
                die("bad ListJobs reply", r);
        sd_bus_message_unref(reply);
        *ret_n = n;
        return v;
}

static int cmd_cancel_queued(unsigned samples) {
        sd_bus *bus = bus_open();
        unsigned n;
        char **jobs = list_job_paths(bus, "queued", &n);
        double *lat = calloc(samples, sizeof *lat), sum = 0;

        if (n < samples) {
                fprintf(stderr, "xferd-bench: %u queued jobs, fewer than %u samples\n", n, samples);
                return 1;
        }
        for (unsigned s = 0; s < samples; s++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                /* Spread over the queue: the first, the middle and the last jobs alike. */
                const char *job = jobs[(size_t) s * n / samples];
                double t0 = now_s();
                int r = sd_bus_call_method(bus, BUS_NAME, job, JOB_IFACE, "Cancel", &e, NULL, "");
                double t1 = now_s();
                if (r < 0)
                        die_bus("Cancel", &e, r);
                lat[s] = (t1 - t0) * 1000.0;
                sum += lat[s];
        }
        qsort(lat, samples, sizeof *lat, cmp_double);
        printf("queued=%u\nsamples=%u\np50_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\nmean_ms=%.3f\n", n, samples,
               percentile(lat, samples, 50), percentile(lat, samples, 99), lat[samples - 1], sum / samples);
        for (unsigned i = 0; i < n; i++)
                free(jobs[i]);
        free(jobs);
        free(lat);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int send_suspend(Queue *q, unsigned i) {
        return sd_bus_call_method_async(q->bus, NULL, BUS_NAME, q->jobs[i], JOB_IFACE, "Suspend", on_counted_reply,
                                        q, "");
}

static int cmd_suspend_all(unsigned window) {
        Queue q = { .bus = bus_open(), .call = "Suspend" };
        unsigned n;
        double t0;

        q.jobs = list_job_paths(q.bus, NULL, &n);
        t0 = now_s();
        pipeline(&q, n, window, send_suspend);
        printf("wall=%.4f\njobs=%u\nfailed=%u\n", now_s() - t0, q.added, q.errors);
        for (unsigned i = 0; i < n; i++)
                free(q.jobs[i]);
        free(q.jobs);
        sd_bus_flush_close_unref(q.bus);
        return q.errors ? 1 : 0;
}

/* ---- list: ListJobs call → reply --------------------------------------------------------- */

static int cmd_list(unsigned reps, const char *method) {
        sd_bus *bus = bus_open();
        double cu0, cs0;

        self_cpu(&cu0, &cs0);

        for (unsigned i = 0; i < reps; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *call = NULL, *reply = NULL;
                unsigned n = 0;
                int r;

                r = sd_bus_message_new_method_call(bus, &call, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method);
                if (r >= 0)
                        r = sd_bus_message_append(call, "b", 0);
                if (r < 0)
                        die("cannot build the list call", r);
                double t0 = now_s();
                r = sd_bus_call(bus, call, CALL_TIMEOUT, &e, &reply);
                double t1 = now_s();
                if (r < 0)
                        die_bus(method, &e, r);
                /* Every row read, after the wall (which ends when the reply is in): ListJobs' and
                 * ListJobsCompact's rows field by field into their types, as xferctl reads them;
                 * rows of another signature skipped, so that builds that differ in it compare. */
                const char *row = NULL;
                r = sd_bus_message_peek_type(reply, NULL, &row);
                if (r > 0)
                        r = sd_bus_message_enter_container(reply, 'a', row);
                if (r > 0 && (strcmp(row, "(ssssutto)") == 0 || strcmp(row, "(ssssutt)") == 0)) {
                        const char *id, *name, *type, *state, *path;
                        uint64_t done, total;
                        uint32_t uid;

                        /* (the path's pointer is not taken by the compact row's signature) */
                        while ((r = sd_bus_message_read(reply, row, &id, &name, &type, &state, &uid, &done, &total,
                                                        &path)) > 0)
                                n++;
                } else
                        while (r > 0 && (r = sd_bus_message_skip(reply, row)) > 0)
                                n++;
                double t2 = now_s();
                if (r < 0)
                        die("cannot read the rows", r);
                printf("ms=%.3f\nread_ms=%.3f\njobs=%u\n", (t1 - t0) * 1000.0, (t2 - t1) * 1000.0, n);
                sd_bus_message_unref(call);
                sd_bus_message_unref(reply);
        }
        print_self_cpu(cu0, cs0);
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* ---- hang: other calls while one destination's fsync hangs ------------------------------------ */

static bool file_contains(const char *path, const char *needle) {
        FILE *f = fopen(path, "re");
        char line[4096];
        bool found = false;

        if (!f)
                return false;
        while (!found && fgets(line, sizeof line, f))
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

static double time_list_jobs(sd_bus *bus) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;

        double t0 = now_s();
        int r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ListJobs", &e, &reply, "b", 0);
        double t1 = now_s();
        if (r < 0)
                die_bus("ListJobs", &e, r);
        sd_bus_message_unref(reply);
        return (t1 - t0) * 1000.0;
}

static int cmd_hang(unsigned samples, const char *url, const char *dir, const char *log_path) {
        sd_bus *owner = bus_open(), *other = bus_open();
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        double *lat = calloc(samples, sizeof *lat), deadline;
        char path[1200], *state;
        unsigned n = 0;
        int r;

        (void) time_list_jobs(other);  /* the second connection is known to the daemon */
        snprintf(path, sizeof path, "%s/h0", dir);
        r = sd_bus_call_method(owner, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Download", &e, &reply, "ssa{sv}",
                               url, path, 0);
        char *job_path = reply_job_path("Download", r, &e, reply);

        deadline = now_s() + 60;
        while (!file_contains(log_path, "Test delay: FSYNC")) {
                if (now_s() > deadline) {
                        fprintf(stderr, "xferd-bench: the daemon never held an fsync (XFERD_TEST_DELAY unset?)\n");
                        exit(1);
                }
                usleep(5000);
        }
        /* Within the first 3 s of the 5 s hang. */
        deadline = now_s() + 3;
        while (n < samples && now_s() < deadline) {
                lat[n++] = time_list_jobs(other);
                usleep(20000);
        }
        state = get_state(owner, job_path);
        bool held = strcmp(state, "transferred") == 0;
        free(state);
        /* Then the completion finishes. */
        deadline = now_s() + 60;
        for (;;) {
                state = get_state(owner, job_path);
                bool done = strcmp(state, "acknowledged") == 0;
                free(state);
                if (done)
                        break;
                if (now_s() > deadline) {
                        fprintf(stderr, "xferd-bench: the held completion did not finish\n");
                        exit(1);
                }
                usleep(20000);
        }
        qsort(lat, n, sizeof *lat, cmp_double);
        printf("samples=%u\np50_ms=%.3f\nmax_ms=%.3f\nheld=%s\n", n, percentile(lat, n, 50), lat[n - 1],
               held ? "yes" : "no");
        free(lat);
        free(job_path);
        sd_bus_flush_close_unref(owner);
        sd_bus_flush_close_unref(other);
        return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static uint64_t parse_u64(const char *s, const char *what) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || !*s || *s == '-' || v == 0) {
                fprintf(stderr, "xferd-bench: bad %s '%s' (a number of bytes above 0)\n", what, s);
                exit(2);
        }
        return (uint64_t) v;
}

static unsigned parse_uint(const char *s, const char *what) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || !*s || v == 0 || v > 10000000) {
                fprintf(stderr, "xferd-bench: bad %s '%s'\n", what, s);
                exit(2);
        }
        return (unsigned) v;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "count", required_argument, NULL, 'n' },
                { "url-prefix", required_argument, NULL, 'f' },
                { "url", required_argument, NULL, 'u' },
                { "dir", required_argument, NULL, 'd' },
                { "pid", required_argument, NULL, 'p' },
                { "window", required_argument, NULL, 'w' },
                { "samples", required_argument, NULL, 's' },
                { "reps", required_argument, NULL, 'r' },
                { "background-limit", required_argument, NULL, 'L' },
                { "log", required_argument, NULL, 'l' },
                { "background", required_argument, NULL, 'b' },
                { "checksum", required_argument, NULL, 'c' },
                { "resume-at", required_argument, NULL, 'R' },
                { "files-at-once", required_argument, NULL, 'F' },
                { "queued", no_argument, NULL, 'Q' },
                { "service", required_argument, NULL, 'S' },
                { "name", required_argument, NULL, 'N' },
                { "signals", required_argument, NULL, 'G' },
                { "contract", no_argument, NULL, 'K' },
                { "method", required_argument, NULL, 'M' },
                { "gap-us", required_argument, NULL, 'g' },
                { "cold-us", required_argument, NULL, 'C' },
                { "server-pid", required_argument, NULL, 'P' },
                { NULL, 0, NULL, 0 }
        };
        unsigned count = 0, window = 64, samples = 100, reps = 1, at_once = 0, gap_us = 3000, cold_us = 0;
        const char *prefix = NULL, *url = NULL, *dir = NULL, *log_path = NULL, *service = BUS_NAME, *name = NULL,
                   *method = NULL;
        unsigned signals = 0;
        pid_t dpid = 0, server_pid = 0;
        bool queued = false, contract = false, service_given = false;
        Background bg = { .url = NULL };
        int c;

        if (argc < 2) {
                fprintf(stderr, "usage: xferd-bench COMMAND [OPTIONS] (see the top of xferd-bench.c)\n");
                return 2;
        }
        const char *cmd = argv[1];
        argv++;
        argc--;
        setvbuf(stdout, NULL, _IOLBF, 0);

        while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
                switch (c) {
                case 'n': count = parse_uint(optarg, "count"); break;
                case 'f': prefix = optarg; break;
                case 'u': url = optarg; break;
                case 'd': dir = optarg; break;
                case 'p': dpid = (pid_t) parse_uint(optarg, "pid"); break;
                case 'w': window = parse_uint(optarg, "window"); break;
                case 's': samples = parse_uint(optarg, "samples"); break;
                case 'r': reps = parse_uint(optarg, "reps"); break;
                case 'l': log_path = optarg; break;
                case 'b': bg.url = optarg; break;
                case 'c': bg.checksum = optarg; break;
                case 'R': bg.resume_at = parse_u64(optarg, "resume-at"); break;
                case 'L': bg.limit = parse_u64(optarg, "background-limit"); break;
                case 'P': server_pid = (pid_t) parse_uint(optarg, "server-pid"); break;
                case 'F': at_once = parse_uint(optarg, "files-at-once"); break;
                case 'Q': queued = true; break;
                case 'S': service = optarg; service_given = true; break;
                case 'N': name = optarg; break;
                case 'G': signals = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'K': contract = true; break;
                case 'M': method = optarg; break;
                case 'g': gap_us = parse_uint(optarg, "gap-us"); break;
                case 'C': cold_us = parse_uint(optarg, "cold-us"); break;
                default: return 2;
                }
        }

        if ((bg.limit > 0 || bg.resume_at > 0) && !bg.url) {
                fprintf(stderr, "xferd-bench: --background-limit and --resume-at go with --background\n");
                return 2;
        }
        if (strcmp(cmd, "free-port") == 0)
                return cmd_free_port();
        if (strcmp(cmd, "pid") == 0)
                return cmd_pid();
        if (strcmp(cmd, "run") == 0) {
                if (optind >= argc) {
                        fprintf(stderr, "xferd-bench: run needs a command\n");
                        return 2;
                }
                return cmd_run(dpid, argv + optind);
        }
        if (strcmp(cmd, "set-max") == 0) {
                if (optind >= argc)
                        return 2;
                sd_bus *bus = bus_open();
                set_max(bus, parse_uint(argv[optind], "count"));
                sd_bus_flush_close_unref(bus);
                return 0;
        }
        if (strcmp(cmd, "list") == 0)
                return cmd_list(reps, method ? method : "ListJobs");
        if (strcmp(cmd, "many-jobs") == 0 && count && prefix && dir)
                return cmd_many_jobs(count, prefix, dir, dpid, window);
        if (strcmp(cmd, "one-job") == 0 && count && prefix && dir)
                return cmd_one_job(count, prefix, dir, dpid, at_once);
        if (strcmp(cmd, "cancel") == 0 && count && url && dir) {
                if (service_given && cold_us > 0) {
                        fprintf(stderr, "xferd-bench: cancel takes --service or --cold-us, not both\n");
                        return 2;
                }
                return cmd_cancel(count, samples, url, dir, &bg, service_given ? service : NULL, cold_us);
        }
        if (strcmp(cmd, "floor") == 0 && service_given)
                return cmd_floor(service, samples, gap_us, &bg, dir ? dir : "/var/tmp", dpid, server_pid);
        if (strcmp(cmd, "hang") == 0 && url && dir && log_path)
                return cmd_hang(samples, url, dir, log_path);
        if (strcmp(cmd, "queue") == 0 && count && url && dir)
                return cmd_queue(count, url, dir, window, queued);
        if (strcmp(cmd, "cancel-queued") == 0)
                return cmd_cancel_queued(samples);
        if (strcmp(cmd, "suspend-all") == 0)
                return cmd_suspend_all(window);
        if (strcmp(cmd, "create") == 0 && count && url && dir)
                return cmd_create(count, service, url, dir, dpid, window);
        if (strcmp(cmd, "echo-serve") == 0 && name)
                return cmd_echo_serve(name, signals, contract);
        fprintf(stderr, "xferd-bench: unknown command or missing options: %s\n", cmd);
        return 2;
}
