/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sync of a batch's finished files (daemon/sync-policy.c): every file whose data is
 * pending is synced exactly once and says so, by one syncfs() or by fdatasync() on several
 * threads at once; a file that cannot be synced says why, and files that failed or were never
 * opened before are left alone. */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "file-batch.h"
#include "test-cases.h"
#include "util.h"

typedef struct Files {
        char *dir;
        FileOp *ops;
        size_t n;
} Files;

/* n files of 16 KiB written just now (dirty), each an op as the FINISH step's open leaves it. */
static void
files_make (Files *f, size_t n)
{
        char buf[16384];

        memset (buf, 'x', sizeof buf);
        f->dir = g_dir_make_tmp ("xferd-sync-XXXXXX", NULL);
        g_assert_nonnull (f->dir);
        f->ops = g_new0 (FileOp, n);
        f->n = n;
        for (size_t i = 0; i < n; i++) {
                g_autofree char *path = g_strdup_printf ("%s/f%04zu", f->dir, i);
                struct stat st;
                int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

                g_assert_cmpint (fd, >=, 0);
                g_assert_cmpint (write (fd, buf, sizeof buf), ==, (ssize_t) sizeof buf);
                g_assert_cmpint (fstat (fd, &st), ==, 0);
                f->ops[i] = (FileOp) { .fd = fd, .opened = true, .fs_dev = st.st_dev, .size = sizeof buf };
        }
}

static void
files_done (Files *f)
{
        for (size_t i = 0; i < f->n; i++) {
                g_autofree char *path = g_strdup_printf ("%s/f%04zu", f->dir, i);

                safe_close (f->ops[i].fd);
                g_assert_cmpint (g_unlink (path), ==, 0);
        }
        g_assert_cmpint (g_rmdir (f->dir), ==, 0);
        g_free (f->ops);
        g_free (f->dir);
}

static void
test_each_once (gconstpointer data)
{
        size_t n = GPOINTER_TO_SIZE (data);
        Files f;
        int pipe_fds[2];

        files_make (&f, n);
        /* One that cannot be synced (a pipe: EINVAL), one that failed before, one never opened. */
        g_assert_cmpint (pipe2 (pipe_fds, O_CLOEXEC), ==, 0);
        safe_close (pipe_fds[1]);
        safe_close (f.ops[1].fd);
        f.ops[1].fd = pipe_fds[0];
        f.ops[2].r = -EIO;
        safe_close (f.ops[3].fd);
        f.ops[3] = (FileOp) { .fd = -1, .r = -ENOENT };

        sync_policy_sync (f.ops, f.n);

        for (size_t i = 0; i < f.n; i++) {
                if (i == 1) {
                        /* syncfs() of the batch's file systems may have served it: then it
                         * counts as synced; its own fdatasync() fails. */
                        g_assert_true (f.ops[i].synced || f.ops[i].r == -EINVAL);
                        g_assert_true (f.ops[i].synced == (f.ops[i].r >= 0));
                } else if (i == 2) {
                        g_assert_cmpint (f.ops[i].r, ==, -EIO);
                        g_assert_false (f.ops[i].synced);
                } else if (i == 3) {
                        g_assert_cmpint (f.ops[i].r, ==, -ENOENT);
                        g_assert_false (f.ops[i].synced);
                } else {
                        g_assert_cmpint (f.ops[i].r, ==, 0);
                        g_assert_true (f.ops[i].synced);
                }
        }
        files_done (&f);
}

/* A syncfs() pays only while the dirty data is nearly all the batch's own (16 MiB of others'
 * at most), the own bytes counted up to 64 MiB, and never when the dirty data is unknown. */
static void
test_syncfs_pays (void)
{
        const uint64_t mib = 1024 * 1024;

        g_assert_true (sync_policy_syncfs_pays (0, 0));
        g_assert_true (sync_policy_syncfs_pays (16 * mib, 0));
        g_assert_false (sync_policy_syncfs_pays (16 * mib + 1, 0));
        g_assert_true (sync_policy_syncfs_pays (32 * mib, 16 * mib));
        g_assert_false (sync_policy_syncfs_pays (33 * mib, 16 * mib));
        /* Big files' bytes may be written back already: they make no room beyond 64 MiB. */
        g_assert_true (sync_policy_syncfs_pays (80 * mib, 1024 * mib));
        g_assert_false (sync_policy_syncfs_pays (81 * mib, 1024 * mib));
        g_assert_false (sync_policy_syncfs_pays (UINT64_MAX, 0));
        g_assert_false (sync_policy_syncfs_pays (UINT64_MAX, 1024 * mib));
}

/* The system's dirty and under-writeback bytes, as the policy reads them. */
static uint64_t
dirty_now (void)
{
        g_autofree char *text = NULL;
        g_auto (GStrv) lines = NULL;
        uint64_t total = 0;

        g_assert_true (g_file_get_contents ("/proc/meminfo", &text, NULL, NULL));
        lines = g_strsplit (text, "\n", -1);
        for (char **l = lines; *l; l++) {
                unsigned long long kb;
                if (sscanf (*l, "Dirty: %llu kB", &kb) == 1 || sscanf (*l, "Writeback: %llu kB", &kb) == 1)
                        total += (uint64_t) kb * 1024;
        }
        return total;
}

/* A sync ahead syncs when the rule says it pays and says so, fails as syncfs() fails, leaves
 * the descriptor open and the data as it was, and does nothing when it does not pay. */
static void
test_sync_ahead (void)
{
        const uint64_t mib = 1024 * 1024;
        Files f;
        char buf[16];
        int closed;

        files_make (&f, 2);
        /* 64 MiB of our own (the cap) pay for up to 80 MiB dirty: skipped on a machine with
         * more of other programs' data about. */
        if (dirty_now () + 16 * mib < 80 * mib) {
                g_assert_cmpint (sync_policy_sync_ahead (f.ops[0].fd, 64 * mib), ==, 1);
                closed = dup (f.ops[1].fd);
                g_assert_cmpint (closed, >=, 0);
                safe_close (closed);
                g_assert_cmpint (sync_policy_sync_ahead (closed, 64 * mib), ==, -EBADF);
        } else
                g_test_message ("more than 64 MiB of dirty data about: the syncs that pay not tried");
        g_assert_cmpint (pread (f.ops[0].fd, buf, sizeof buf, 0), ==, (ssize_t) sizeof buf);
        g_assert_cmpint (buf[0], ==, 'x');
        files_done (&f);
}

const TestDataCase test_data_cases[] = {
        /* Below the syncfs() threshold: fdatasync() on more threads than files would need. */
        { "/sync-policy/few", test_each_once, GSIZE_TO_POINTER (6) },
        /* syncfs() or, with other programs' dirty data about, fdatasync() on eight threads. */
        { "/sync-policy/many", test_each_once, GSIZE_TO_POINTER (300) },
        { NULL, NULL, NULL },
};

const TestCase test_cases[] = {
        { "/sync-policy/syncfs-pays", test_syncfs_pays },
        { "/sync-policy/sync-ahead", test_sync_ahead },
        { NULL, NULL },
};
