/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "gpgv.h"
#include "io-util.h"
#include "log.h"
#include "util.h"

#ifndef XFERD_GPGV
#define XFERD_GPGV "/usr/bin/gpgv"
#endif

#define STATUS_MAX (1024u * 1024u)           /* more status than this is not gpgv's */
#define DEFAULT_TIMEOUT_USEC (60u * USEC_PER_SEC)

/* ---- keyrings ---------------------------------------------------------------------------- */

int gpgv_keys_dir(bool user, char **ret) {
        const char *config = getenv("XDG_CONFIG_HOME"), *home;
        char *d;

        assert(ret);

        if (!user)
                d = strdup(XFERD_SYSCONFDIR "/keys.d");
        else if (config && config[0] == '/') {
                if (asprintf(&d, "%s/xferd/keys.d", config) < 0)
                        d = NULL;
        } else {
                home = getenv("HOME");
                if (!home || home[0] != '/') {
                        struct passwd *pw = getpwuid(getuid());
                        if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
                                return -ENXIO;
                        home = pw->pw_dir;
                }
                if (asprintf(&d, "%s/.config/xferd/keys.d", home) < 0)
                        d = NULL;
        }
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

static int string_compare(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int gpgv_keyrings_in(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;

        assert(dir);
        assert(ret);

        if (array_reserve((void **) &l, &allocated, 1, sizeof *l) < 0)
                return -ENOMEM;
        l[0] = NULL;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = TAKE_PTR(l);
                return 0;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                struct stat st;

                if (de->d_name[0] == '.' || len <= 4 || !streq(de->d_name + len - 4, ".gpg"))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                        log_warning("Ignoring keyring %s/%s: it is writable by group or others.", dir, de->d_name);
                        continue;
                }
                if (array_reserve((void **) &l, &allocated, n + 2, sizeof *l) < 0)
                        return -ENOMEM;
                if (asprintf(&l[n], "%s/%s", dir, de->d_name) < 0) {
                        l[n] = NULL;    /* what a failed asprintf() left is undefined */
                        return -ENOMEM;
                }
                l[++n] = NULL;
        }
        qsort(l, n, sizeof *l, string_compare);
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- running gpgv ------------------------------------------------------------------------ */

struct Gpgv {
        sd_event_source *child;       /* owns the process: freeing it kills and reaps gpgv */
        sd_event_source *status_io;
        sd_event_source *timer;
        int status_fd;
        char *status;
        size_t status_len;
        bool overflow;
        GpgvDone done;
        void *userdata;
        const char *program;
};

/* Everything the child needs, prepared before fork(): after it only async-signal-safe calls. */
typedef struct ChildSetup {
        const char *program;
        char **argv;
        char *envp[3];
        int null_fd, status_fd, signature_fd, data_fd;   /* all >= 10, so dup2() to 0..5 is safe */
        bool switch_identity;
        uid_t uid;
        gid_t gid;
} ChildSetup;

_Noreturn static void child_exec(const ChildSetup *c) {
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* The loop's blocked signals and ignored SIGPIPE must not reach gpgv. */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) sigaction(SIGPIPE, &dfl, NULL);

        if (dup2(c->null_fd, 0) < 0 || dup2(c->null_fd, 1) < 0 || dup2(c->null_fd, 2) < 0 ||
            dup2(c->status_fd, 3) < 0 || dup2(c->signature_fd, 4) < 0 || dup2(c->data_fd, 5) < 0)
                _exit(127);
        /* The memfds share their offset with the parent's descriptors. */
        if (lseek(4, 0, SEEK_SET) < 0 || lseek(5, 0, SEEK_SET) < 0)
                _exit(127);
        (void) close_range(6, ~0U, 0);

        if (c->switch_identity &&
            (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0))
                _exit(126);

        execve(c->program, c->argv, c->envp);
        _exit(127);
}

/* A sealed memfd holding the bytes, for gpgv to read as "-&N". */
static int memfd_with(const char *name, const void *p, size_t n) {
        _cleanup_close_ int fd = -1;
        int r;

        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = write_full(fd, p, n);
        if (r < 0)
                return r;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* Moves fd to a number >= 10 (close-on-exec); closes the original. */
static int fd_move_high(int fd) {
        int high;

        if (fd < 0)
                return fd;  /* an error already */
        high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
        if (high < 0)
                high = -errno;
        safe_close(fd);
        return high;
}

static void finish(Gpgv *g, GpgvVerdict verdict, const char *key, const char *detail) {
        char msg[512];

        switch (verdict) {
        case GPGV_GOOD:
                snprintf(msg, sizeof msg, "The signature of the checksum list is good (key %s).", key);
                break;
        case GPGV_BAD:
                snprintf(msg, sizeof msg, "The signature of the checksum list is bad (key %s): the list "
                         "or its signature was changed.", key);
                break;
        case GPGV_UNKNOWN_KEY:
                snprintf(msg, sizeof msg, "The checksum list is signed by key %s, which is in none of the "
                         "keyrings of keys.d.", key);
                break;
        case GPGV_EXPIRED:
                snprintf(msg, sizeof msg, "The signature of the checksum list or its key %s has expired.", key);
                break;
        case GPGV_REVOKED:
                snprintf(msg, sizeof msg, "The key %s that signed the checksum list was revoked.", key);
                break;
        case GPGV_WEAK_DIGEST:
                snprintf(msg, sizeof msg, "The checksum list is signed (key %s) with a hash that is too weak "
                         "(MD5, SHA-1 or RIPEMD-160).", key);
                break;
        case GPGV_NO_SIGNATURE:
                snprintf(msg, sizeof msg, "The signature file of the checksum list holds no OpenPGP signature.");
                break;
        default:
                snprintf(msg, sizeof msg, "The signature of the checksum list could not be checked: %s.",
                         detail ? detail : "gpgv gave no verdict");
        }

        GpgvResult result = { .verdict = verdict, .key = key ? key : "", .message = msg };
        g->status_io = sd_event_source_disable_unref(g->status_io);
        g->timer = sd_event_source_disable_unref(g->timer);
        g->done(g, &result, g->userdata);
}

/* Returns 0 at EOF or when nothing more is there now, -errno on failure. */
static int status_read(Gpgv *g) {
        char buf[4096];

        for (;;) {
                ssize_t k = read(g->status_fd, buf, sizeof buf);
                if (k < 0)
                        return errno == EINTR ? 0 : errno == EAGAIN ? 0 : -errno;
                if (k == 0) {
                        g->status_io = sd_event_source_disable_unref(g->status_io);
                        return 0;
                }
                if (g->status_len + (size_t) k > STATUS_MAX) {
                        g->overflow = true;
                        return 0;  /* discarded; the verdict is "failed" */
                }
                char *grown = realloc(g->status, g->status_len + (size_t) k + 1);
                if (!grown)
                        return -ENOMEM;
                g->status = grown;
                memcpy(g->status + g->status_len, buf, (size_t) k);
                g->status_len += (size_t) k;
                g->status[g->status_len] = 0;
        }
}

static int on_status(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Gpgv *g = userdata;

        /* Drained as it comes, so gpgv never blocks on a full pipe. */
        (void) status_read(g);
        return 0;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Gpgv *g = userdata;
        char key[GPGV_KEY_MAX] = "", detail[256];
        int status = si->si_code == CLD_EXITED ? si->si_status : -1;

        /* gpgv is gone and held the only write end: what is left in the pipe is all there is. */
        if (g->status_io && status_read(g) < 0) {
                finish(g, GPGV_FAILED, NULL, "reading its status failed");
                return 0;
        }
        if (g->overflow) {
                finish(g, GPGV_FAILED, NULL, "gpgv wrote more status than a signature check does");
                return 0;
        }
        if (si->si_code == CLD_EXITED && (si->si_status == 126 || si->si_status == 127) && g->status_len == 0) {
                snprintf(detail, sizeof detail, "%s could not be started%s", g->program,
                         si->si_status == 126 ? " as the job's owner" : " (is the package gpgv installed?)");
                finish(g, GPGV_FAILED, NULL, detail);
                return 0;
        }

        GpgvVerdict v = gpgv_verdict_from_status(g->status ? g->status : "", g->status_len, status, key);
        if (v == GPGV_FAILED) {
                if (status < 0)
                        snprintf(detail, sizeof detail, "gpgv was killed by signal %d", si->si_status);
                else
                        snprintf(detail, sizeof detail, "gpgv exited with status %d without a verdict", status);
                finish(g, v, key, detail);
        } else
                finish(g, v, key, NULL);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Gpgv *g = userdata;

        (void) sd_event_source_send_child_signal(g->child, SIGKILL, NULL, 0);
        /* The child source is kept: freeing it reaps the killed process. */
        (void) sd_event_source_set_enabled(g->child, SD_EVENT_OFF);
        finish(g, GPGV_FAILED, NULL, "gpgv did not finish in time");
        return 0;
}

static int build_argv(const GpgvRequest *req, char ***ret) {
        size_t n_keyrings = strv_length(req->keyrings), k = 0;
        char **argv = calloc(2 * n_keyrings + 10, sizeof *argv);

        if (!argv)
                return -ENOMEM;
        argv[k++] = (char *) "gpgv";
        /* gpgv reads nothing from its home when it is given keyrings; it must not create one. */
        argv[k++] = (char *) "--homedir";
        argv[k++] = (char *) "/nonexistent";
        argv[k++] = (char *) "--status-fd=3";
        argv[k++] = (char *) "--enable-special-filenames";
        for (size_t i = 0; i < n_keyrings; i++) {
                argv[k++] = (char *) "--keyring";
                argv[k++] = req->keyrings[i];
        }
        argv[k++] = (char *) "--";
        argv[k++] = (char *) "-&4";
        argv[k++] = (char *) "-&5";
        *ret = argv;
        return 0;
}

int gpgv_start(sd_event *e, const GpgvRequest *req, GpgvDone done, void *userdata, Gpgv **ret) {
        _cleanup_(gpgv_freep) Gpgv *g = NULL;
        _cleanup_free_ char **argv = NULL;
        _cleanup_close_ int null_fd = -1, sig_fd = -1, data_fd = -1, status_w = -1;
        int pipefd[2], r;
        pid_t pid;

        assert(e);
        assert(req);
        assert(req->keyrings && req->keyrings[0]);
        assert(req->data || req->data_size == 0);
        assert(req->signature || req->signature_size == 0);
        assert(done);
        assert(ret);

        g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        g->status_fd = -1;
        g->done = done;
        g->userdata = userdata;
        g->program = req->gpgv ? req->gpgv : XFERD_GPGV;

        r = build_argv(req, &argv);
        if (r < 0)
                return r;
        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        g->status_fd = pipefd[0];
        /* gpgv's end blocks: it need not cope with EAGAIN. */
        status_w = fd_move_high(pipefd[1]);
        if (status_w < 0 || fcntl(status_w, F_SETFL, 0) < 0)
                return status_w < 0 ? status_w : -errno;
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        null_fd = fd_move_high(null_fd);
        if (null_fd < 0)
                return null_fd;
        sig_fd = fd_move_high(memfd_with("xferd-gpgv-signature", req->signature, req->signature_size));
        if (sig_fd < 0)
                return sig_fd;
        data_fd = fd_move_high(memfd_with("xferd-gpgv-data", req->data, req->data_size));
        if (data_fd < 0)
                return data_fd;

        ChildSetup setup = {
                .program = g->program,
                .argv = argv,
                .envp = { (char *) "LC_ALL=C", (char *) "PATH=/usr/bin:/bin", NULL },
                .null_fd = null_fd,
                .status_fd = status_w,
                .signature_fd = sig_fd,
                .data_fd = data_fd,
                .switch_identity = geteuid() == 0 && req->uid != (uid_t) -1 && req->uid != 0,
                .uid = req->uid,
                .gid = req->gid,
        };

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_exec(&setup);

        r = sd_event_add_child(e, &g->child, pid, WEXITED, on_child_exit, g);
        if (r < 0) {
                /* Not ours to watch (SIGCHLD not blocked?): do not leave it running. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        (void) sd_event_source_set_child_process_own(g->child, true);
        (void) sd_event_source_set_description(g->child, "gpgv");

        r = sd_event_add_io(e, &g->status_io, g->status_fd, EPOLLIN, on_status, g);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(e, &g->timer, CLOCK_MONOTONIC,
                                       req->timeout_usec > 0 ? req->timeout_usec : DEFAULT_TIMEOUT_USEC,
                                       USEC_PER_SEC / 10, on_timeout, g);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(g);
        return 0;
}

Gpgv *gpgv_free(Gpgv *g) {
        if (!g)
                return NULL;
        /* An owned child that has not exited is killed with SIGKILL and reaped here. */
        sd_event_source_disable_unref(g->child);
        sd_event_source_disable_unref(g->status_io);
        sd_event_source_disable_unref(g->timer);
        safe_close(g->status_fd);
        free(g->status);
        return mfree(g);
}
