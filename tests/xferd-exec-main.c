/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xferd-test-exec DIR PROGRAM [ARG...]
 *
 * What the test bus activates in front of xferd (bus-fixture.c): it runs PROGRAM (xferd, or
 * /usr/bin/env, which becomes xferd) as its child and records how it ended, which the test
 * could not always see: the bus starts xferd, and its parent is dbus-daemon's activation
 * helper until the activation is done (then the test, a subreaper), or with dbus-broker its
 * controller (tests/bench/bench-broker.c); and the test's own waits for an xferd that ends
 * before teardown took its status and let it go. The record is the file DIR/PID (PID the
 * child's), one line:
 *
 *   running WRAPPER_PID      from before PROGRAM runs (the child writes it before its exec)
 *   exited CODE WRAPPER_PID  once the child exited with CODE
 *   killed SIGNO WRAPPER_PID once a signal ended it
 *
 * each written whole under another name and renamed into place, so that a reader sees one or
 * the other. xferd sees what it would see without the wrapper: its own pid (the one the bus
 * driver gives), the same argv, environment, descriptors, signal mask and ignored signals,
 * process group and credentials. The signals a service is stopped with (SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) sent to the wrapper go on to the child. While the child
 * runs the wrapper holds no descriptor but its stderr (for its own errors): stdin and stdout
 * on /dev/null, the rest closed, so no pipe and no socket waits for the wrapper after the child
 * is gone. It ends as the child did, with the same exit status or by the same signal (without
 * a core of its own), so that the bus reports a failed activation as it did before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_SETUP 127

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* DIR/PID holds text, whole: written as DIR/.PID.new, then renamed. 0 or -errno. */
static int
write_record (const char *dir, pid_t pid, const char *text)
{
        char path[PATH_MAX], tmp[PATH_MAX];
        size_t len = strlen (text);
        int fd;

        if (snprintf (path, sizeof path, "%s/%d", dir, (int) pid) >= (int) sizeof path ||
            snprintf (tmp, sizeof tmp, "%s/.%d.new", dir, (int) pid) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < len;) {
                ssize_t n = write (fd, text + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EIO;

                        close (fd);
                        unlink (tmp);
                        return r;
                }
                done += (size_t) n;
        }
        if (close (fd) < 0 || rename (tmp, path) < 0) {
                int r = -errno;

                unlink (tmp);
                return r;
        }
        return 0;
}

/* stdin and stdout on /dev/null, every descriptor above stderr closed. */
static void
drop_descriptors (void)
{
        int null;

        if (close_range (3, ~0U, 0) < 0)
                for (int fd = 3; fd < 1024; fd++)
                        (void) close (fd);
        null = open ("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return;
        (void) dup2 (null, STDIN_FILENO);
        (void) dup2 (null, STDOUT_FILENO);
        (void) close (null);
}

/* Ends this process as status says the child ended. */
static _Noreturn void
end_like (int status)
{
        if (WIFSIGNALED (status)) {
                int signo = WTERMSIG (status);
                struct rlimit no_core = { 0, 0 };
                struct sigaction dfl = { .sa_handler = SIG_DFL };
                sigset_t only;

                (void) setrlimit (RLIMIT_CORE, &no_core);
                (void) sigaction (signo, &dfl, NULL);
                sigemptyset (&only);
                sigaddset (&only, signo);
                (void) sigprocmask (SIG_UNBLOCK, &only, NULL);
                (void) kill (getpid (), signo);
                _exit (128 + signo);
        }
        _exit (WEXITSTATUS (status));
}

int
main (int argc, char **argv)
{
        struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
        sigset_t wait_for, old_mask;
        const char *dir;
        char text[64];
        int status = 0, r;
        pid_t wrapper, child;

        if (argc < 3) {
                fprintf (stderr, "usage: xferd-test-exec DIR PROGRAM [ARG...]\n");
                return EXIT_SETUP;
        }
        dir = argv[1];

        /* Blocked before the fork, so that none is lost before the loop below waits for it;
         * the child gets the mask and the SIGCHLD disposition back before its exec. SIGCHLD
         * must not be ignored here: an ignored one would reap the child unseen. */
        sigemptyset (&wait_for);
        for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
                sigaddset (&wait_for, forwarded[i]);
        sigaddset (&wait_for, SIGCHLD);
        if (sigprocmask (SIG_BLOCK, &wait_for, &old_mask) < 0 || sigaction (SIGCHLD, &dfl, &old_chld) < 0) {
                perror ("xferd-test-exec: signals");
                return EXIT_SETUP;
        }

        wrapper = getpid ();
        child = fork ();
        if (child < 0) {
                perror ("xferd-test-exec: fork");
                return EXIT_SETUP;
        }
        if (child == 0) {
                /* The record is there before PROGRAM runs, so that a test that finds no record
                 * of a pid knows that it never ran under the wrapper. Without a record the test
                 * would miss how PROGRAM ends: it must not run at all (the wrapper then records
                 * this exit status). */
                snprintf (text, sizeof text, "running %d\n", (int) wrapper);
                r = write_record (dir, getpid (), text);
                if (r < 0) {
                        fprintf (stderr, "xferd-test-exec: cannot record %d in %s: %s\n", (int) getpid (), dir,
                                 strerror (-r));
                        _exit (EXIT_SETUP);
                }
                (void) sigaction (SIGCHLD, &old_chld, NULL);
                (void) sigprocmask (SIG_SETMASK, &old_mask, NULL);
                execv (argv[2], argv + 2);
                fprintf (stderr, "xferd-test-exec: %s: %s\n", argv[2], strerror (errno));
                _exit (EXIT_SETUP);
        }

        drop_descriptors ();

        for (;;) {
                siginfo_t info;
                int signo = sigwaitinfo (&wait_for, &info);

                if (signo < 0)
                        continue;       /* EINTR, the only error of a valid set */
                if (signo != SIGCHLD) {
                        (void) kill (child, signo);
                        continue;
                }
                /* Also sent when the child stops or continues (SIGSTOP from a test). */
                r = waitpid (child, &status, WNOHANG);
                if (r == child)
                        break;
        }

        if (WIFSIGNALED (status))
                snprintf (text, sizeof text, "killed %d %d\n", WTERMSIG (status), (int) getpid ());
        else
                snprintf (text, sizeof text, "exited %d %d\n", WEXITSTATUS (status), (int) getpid ());
        r = write_record (dir, child, text);
        if (r < 0)
                fprintf (stderr, "xferd-test-exec: cannot record the end of %d in %s: %s\n", (int) child, dir,
                         strerror (-r));
        end_like (status);
}
