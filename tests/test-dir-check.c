/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The destination directory kept open for a batch of Download calls (fs_dir_check_directory()
 * in daemon/fsops.c): a second check of the same path must answer what a fresh check would,
 * whatever the owner did to the directory in between: swapped it for another directory or for
 * a symlink to one it may not write, changed its permissions, replaced it with a file, removed
 * it. As root the checks run as the test user xferd-test-a (and xferd-test-b for a second
 * identity), else as the user running the test. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dir-check.h"
#include "util.h"

typedef struct Fixture {
        char *base;             /* a directory the identity can reach */
        char *dir;              /* base/d: the destination the tests check, made and checked first */
        FsIdentity id;
        uid_t uid;
        gid_t gid;
        FsDirCheck c;
        dev_t dev;              /* what the first check found */
        ino_t ino;
} Fixture;

static void make_dir (Fixture *f, const char *path, mode_t mode);

static void
fixture_init (Fixture *f, gconstpointer data)
{
        *f = (Fixture) { .c = FS_DIR_CHECK_INIT };
        f->uid = getuid ();
        f->gid = getgid ();
        if (geteuid () == 0) {
                struct passwd *pw = getpwnam ("xferd-test-a");
                if (!pw) {
                        g_test_skip ("as root, the test user xferd-test-a is needed");
                        return;
                }
                f->uid = pw->pw_uid;
                f->gid = pw->pw_gid;
        }
        g_assert_cmpint (fs_identity_load (f->uid, &f->id), ==, 0);
        f->base = g_dir_make_tmp ("xferd-dir-check-XXXXXX", NULL);
        g_assert_nonnull (f->base);
        g_assert_cmpint (chmod (f->base, 0755), ==, 0);
        f->dir = g_build_filename (f->base, "d", NULL);
        make_dir (f, f->dir, 0755);
        g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 0, NULL, &f->dev, &f->ino), ==, 0);
}

/* Checks the fixture's directory again: 0 or -errno; what it found in *ret when given, and
 * the name of lookup (when given) looked up in it. */
static int
check_lookup (Fixture *f, const FsIdentity *id, FsNameLookup *lookup, FsDir *ret)
{
        dev_t dev;
        ino_t ino;
        int r = fs_dir_check_directory (&f->c, id, f->dir, 0, lookup, &dev, &ino);

        if (ret)
                *ret = (FsDir) { .path = f->dir, .dev = dev, .ino = ino };
        return r;
}

static int
check_as (Fixture *f, const FsIdentity *id, FsDir *ret)
{
        return check_lookup (f, id, NULL, ret);
}

static int
check (Fixture *f)
{
        return check_as (f, &f->id, NULL);
}

/* What a fresh check of the fixture's directory (no kept fd) says. */
static int
fresh_check (Fixture *f)
{
        dev_t dev;
        ino_t ino;

        return fsops_check_directory (&f->id, f->dir, &dev, &ino);
}

static void
fixture_done (Fixture *f, gconstpointer data)
{
        fs_dir_check_done (&f->c);
        if (!f->base)
                return;
        g_autofree char *cmd = g_strdup_printf ("chmod -R u+rwx '%s'; rm -rf '%s'", f->base, f->base);
        g_assert_cmpint (system (cmd), ==, 0);
        g_free (f->base);
        g_free (f->dir);
        fs_identity_done (&f->id);
}

/* A directory at path owned by the fixture's identity, with mode. */
static void
make_dir (Fixture *f, const char *path, mode_t mode)
{
        g_assert_cmpint (mkdir (path, 0700), ==, 0);
        g_assert_cmpint (chown (path, f->uid, f->gid), ==, 0);
        g_assert_cmpint (chmod (path, mode), ==, 0);
}

static void
assert_is (const char *path, dev_t dev, ino_t ino)
{
        struct stat st;

        g_assert_cmpint (stat (path, &st), ==, 0);
        g_assert_cmpuint (st.st_dev, ==, dev);
        g_assert_cmpuint (st.st_ino, ==, ino);
}

/* Moves the checked directory away: the next check must not find it through the kept fd. */
static void
move_away (Fixture *f)
{
        g_autofree char *old = g_strconcat (f->dir, ".old", NULL);

        g_assert_cmpint (rename (f->dir, old), ==, 0);
}

static void
test_kept (Fixture *f, gconstpointer data)
{
        struct stat st;
        FsDir d;

        if (!f->base)   /* skipped */
                return;
        assert_is (f->dir, f->dev, f->ino);
        int fd = f->c.fd;
        g_assert_cmpint (fd, >=, 0);
        g_assert_cmpint (check_as (f, &f->id, &d), ==, 0);
        g_assert_cmpuint (d.dev, ==, f->dev);
        g_assert_cmpuint (d.ino, ==, f->ino);
        g_assert_cmpint (f->c.fd, ==, fd);   /* the same open directory: checked again, not reopened */

        g_assert_cmpint (fs_dir_check_stat (&f->c, &f->id, &d, "missing", &st), ==, -ENOENT);
        g_autofree char *file = g_build_filename (f->dir, "file", NULL);
        g_assert_true (g_file_set_contents (file, "x", 1, NULL));
        g_assert_cmpint (fs_dir_check_stat (&f->c, &f->id, &d, "file", &st), ==, 0);
        g_assert_cmpint (st.st_size, ==, 1);
        FsNameLookup lookup = { .name = "file" };
        g_assert_cmpint (check_lookup (f, &f->id, &lookup, NULL), ==, 0);
        g_assert_cmpint (lookup.r, ==, 0);
        g_assert_cmpint (lookup.st.st_size, ==, 1);
        g_assert_cmpint (f->c.fd, ==, fd);
        lookup = (FsNameLookup) { .name = "missing" };
        g_assert_cmpint (check_lookup (f, &f->id, &lookup, NULL), ==, 0);
        g_assert_cmpint (lookup.r, ==, -ENOENT);
        g_autofree char *sub = g_build_filename (f->dir, "sub", NULL);
        g_assert_cmpint (mkdir (sub, 0755), ==, 0);
        g_assert_cmpint (fs_dir_check_stat (&f->c, &f->id, &d, "sub", &st), ==, -EBADFD);
        g_assert_true (S_ISDIR (st.st_mode));
        lookup = (FsNameLookup) { .name = "sub" };
        g_assert_cmpint (check_lookup (f, &f->id, &lookup, NULL), ==, 0);
        g_assert_cmpint (lookup.r, ==, -EBADFD);
        g_assert_true (S_ISDIR (lookup.st.st_mode));

        fs_dir_check_done (&f->c);
        g_assert_cmpint (f->c.fd, ==, -1);
        g_assert_null (f->c.path);
}

/* Swapped for another directory of the owner: the new one is found, and names are looked up
 * in it, never in the kept one. */
static void
test_swapped (Fixture *f, gconstpointer data)
{
        struct stat st;
        FsDir d;

        if (!f->base)   /* skipped */
                return;
        move_away (f);
        make_dir (f, f->dir, 0755);
        g_autofree char *file = g_build_filename (f->dir, "only-in-new", NULL);
        g_assert_true (g_file_set_contents (file, "xy", 2, NULL));

        FsNameLookup lookup = { .name = "only-in-new" };
        g_assert_cmpint (check_lookup (f, &f->id, &lookup, &d), ==, 0);
        g_assert_cmpuint (d.ino, !=, f->ino);
        assert_is (f->dir, d.dev, d.ino);
        g_assert_cmpint (lookup.r, ==, 0);   /* looked up in the new directory */
        g_assert_cmpint (lookup.st.st_size, ==, 2);
        g_assert_cmpint (fs_dir_check_stat (&f->c, &f->id, &d, "only-in-new", &st), ==, 0);
        g_assert_cmpint (st.st_size, ==, 2);
        /* A name checked against the old directory's identity is refused, not looked up in the
         * kept fd of the new one. */
        FsDir old = { .path = f->dir, .dev = f->dev, .ino = f->ino };
        g_assert_cmpint (fs_dir_check_stat (&f->c, &f->id, &old, "only-in-new", &st), ==, -ESTALE);
}

/* Swapped for a symlink to a directory the owner may not write: refused as a fresh check
 * refuses it. */
static void
test_swapped_unwritable (Fixture *f, gconstpointer data)
{
        if (!f->base)   /* skipped */
                return;
        g_autofree char *ro = g_build_filename (f->base, "read-only", NULL);
        make_dir (f, ro, 0555);
        move_away (f);
        g_assert_cmpint (symlink (ro, f->dir), ==, 0);
        g_assert_cmpint (check (f), ==, -EACCES);
        g_assert_cmpint (f->c.fd, ==, -1);
        g_assert_cmpint (fresh_check (f), ==, -EACCES);
}

/* The same directory with its permissions taken away: the kept fd does not keep them. */
static void
test_permissions_changed (Fixture *f, gconstpointer data)
{
        if (!f->base)   /* skipped */
                return;
        g_assert_cmpint (chmod (f->dir, 0555), ==, 0);
        g_assert_cmpint (check (f), ==, -EACCES);

        g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
        g_assert_cmpint (check (f), ==, 0);
        /* Writable and searchable but not readable: a fresh check cannot open it. */
        g_assert_cmpint (chmod (f->dir, 0355), ==, 0);
        g_assert_cmpint (fresh_check (f), ==, -EACCES);
        g_assert_cmpint (check (f), ==, -EACCES);

        /* The way to it closed: the path is looked up as the owner. */
        g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
        g_assert_cmpint (check (f), ==, 0);
        g_assert_cmpint (chmod (f->base, geteuid () == 0 ? 0700 : 0600), ==, 0);
        g_assert_cmpint (check (f), ==, -EACCES);
        g_assert_cmpint (chmod (f->base, 0755), ==, 0);
}

/* Replaced by a file, then gone. */
static void
test_gone (Fixture *f, gconstpointer data)
{
        if (!f->base)   /* skipped */
                return;
        move_away (f);
        g_assert_true (g_file_set_contents (f->dir, "", 0, NULL));
        g_assert_cmpint (check (f), ==, -ENOTDIR);

        g_assert_cmpint (unlink (f->dir), ==, 0);
        make_dir (f, f->dir, 0755);
        g_assert_cmpint (check (f), ==, 0);
        g_assert_cmpint (rmdir (f->dir), ==, 0);
        g_assert_cmpint (check (f), ==, -ENOENT);
}

/* The same directory on another mount (bound onto itself, read-only): same device and inode,
 * but the kept fd is on the writable mount; the check must say what a fresh one says (root
 * only, in a mount namespace of the test's own). */
static void
test_mount_changed (Fixture *f, gconstpointer data)
{
        if (!f->base)   /* skipped */
                return;
        if (geteuid () != 0) {
                g_test_skip ("needs root (a bind mount)");
                return;
        }
        g_assert_cmpint (unshare (CLONE_NEWNS), ==, 0);
        g_assert_cmpint (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), ==, 0);
        g_assert_cmpint (mount (f->dir, f->dir, NULL, MS_BIND, NULL), ==, 0);
        g_assert_cmpint (mount (NULL, f->dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), ==, 0);
        g_assert_cmpint (fresh_check (f), ==, -EROFS);
        g_assert_cmpint (check (f), ==, -EROFS);
        g_assert_cmpint (umount2 (f->dir, MNT_DETACH), ==, 0);
        g_assert_cmpint (check (f), ==, 0);
}

/* Kept for one identity, checked for another: that one's own check (root only: a second user). */
static void
test_other_identity (Fixture *f, gconstpointer data)
{
        FsIdentity other;
        struct stat st;

        if (!f->base)   /* skipped */
                return;
        if (geteuid () != 0 || !getpwnam ("xferd-test-b")) {
                g_test_skip ("needs root and the test user xferd-test-b");
                return;
        }
        g_assert_cmpint (fs_identity_load (getpwnam ("xferd-test-b")->pw_uid, &other), ==, 0);
        g_assert_cmpint (check_as (f, &other, NULL), ==, -EACCES);
        g_assert_cmpint (check (f), ==, 0);
        FsDir d = { .path = f->dir, .dev = f->dev, .ino = f->ino };
        /* A name looked up for the other identity goes the fresh way (the kept fd is not its). */
        g_assert_cmpint (fs_dir_check_stat (&f->c, &other, &d, "missing", &st), ==, -ENOENT);
        fs_identity_done (&other);
}

/* Checks of one epoch (the Download calls of one iteration of the loop) share the first: the
 * directory swapped in between is found by the next epoch's check, and by a check that shares
 * nothing (epoch 0); another identity never shares one. */
static void
test_epoch (Fixture *f, gconstpointer data)
{
        dev_t dev;
        ino_t ino;

        if (!f->base)   /* skipped */
                return;
        g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 7, NULL, &dev, &ino), ==, 0);
        g_assert_cmpuint (ino, ==, f->ino);
        move_away (f);
        make_dir (f, f->dir, 0755);
        g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 7, NULL, &dev, &ino), ==, 0);
        g_assert_cmpuint (ino, ==, f->ino);     /* shared: the epoch's first check */
        g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 8, NULL, &dev, &ino), ==, 0);
        g_assert_cmpuint (ino, !=, f->ino);     /* a new epoch checks again */
        assert_is (f->dir, dev, ino);

        /* Epoch 0 shares nothing, not even with an earlier check of epoch 0. */
        ino_t second = ino;
        g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 0, NULL, &dev, &ino), ==, 0);
        g_assert_cmpuint (ino, ==, second);
        g_autofree char *moved = g_strconcat (f->dir, ".b", NULL);
        g_assert_cmpint (rename (f->dir, moved), ==, 0);
        make_dir (f, f->dir, 0755);
        g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 0, NULL, &dev, &ino), ==, 0);
        g_assert_cmpuint (ino, !=, second);
        assert_is (f->dir, dev, ino);

        if (geteuid () == 0 && getpwnam ("xferd-test-b")) {
                FsIdentity other;

                g_assert_cmpint (fs_dir_check_directory (&f->c, &f->id, f->dir, 9, NULL, &dev, &ino), ==, 0);
                g_assert_cmpint (fs_identity_load (getpwnam ("xferd-test-b")->pw_uid, &other), ==, 0);
                g_assert_cmpint (fs_dir_check_directory (&f->c, &other, f->dir, 9, NULL, &dev, &ino), ==, -EACCES);
                fs_identity_done (&other);
        }
}

/* A temporary file made through the directory kept for running downloads
 * (fsops_create_temporary()): the path is looked up once an epoch (the jobs one scheduler
 * pass starts), so a directory swapped in between is found by the next epoch's creation,
 * which refuses it (the file's directory is the one recorded), and by every creation of
 * epoch 0. */
static void
test_temporary_epoch (Fixture *f, gconstpointer data)
{
        FsDirCache kept = FS_DIR_CACHE_INIT;
        FsDir d;
        int fd;

        if (!f->base)   /* skipped */
                return;
        d = (FsDir) { .path = f->dir, .dev = f->dev, .ino = f->ino };
        g_autofree char *old = g_strconcat (f->dir, ".old", NULL);
        g_autofree char *in_old = g_build_filename (old, "b", NULL);

        fd = fsops_create_temporary (&f->id, &d, &kept, 7, "a");
        g_assert_cmpint (fd, >=, 0);
        safe_close (fd);
        move_away (f);
        make_dir (f, f->dir, 0755);
        fd = fsops_create_temporary (&f->id, &d, &kept, 7, "b");
        g_assert_cmpint (fd, >=, 0);    /* shared: the epoch's first lookup */
        safe_close (fd);
        g_assert_true (g_file_test (in_old, G_FILE_TEST_EXISTS));
        g_assert_cmpint (fsops_create_temporary (&f->id, &d, &kept, 8, "c"), ==, -ESTALE);

        /* Epoch 0 shares nothing. */
        g_autofree char *newer = g_strconcat (f->dir, ".new", NULL);
        g_assert_cmpint (rename (f->dir, newer), ==, 0);
        g_assert_cmpint (rename (old, f->dir), ==, 0);
        fd = fsops_create_temporary (&f->id, &d, &kept, 0, "d");
        g_assert_cmpint (fd, >=, 0);
        safe_close (fd);
        g_assert_cmpint (rename (f->dir, old), ==, 0);
        g_assert_cmpint (rename (newer, f->dir), ==, 0);
        g_assert_cmpint (fsops_create_temporary (&f->id, &d, &kept, 0, "e"), ==, -ESTALE);
        fs_dir_cache_done (&kept);
}

int
main (int argc, char **argv)
{
        static const struct {
                const char *path;
                void (*func) (Fixture *f, gconstpointer data);
        } cases[] = {
                { "/dir-check/kept", test_kept },
                { "/dir-check/swapped", test_swapped },
                { "/dir-check/swapped-unwritable", test_swapped_unwritable },
                { "/dir-check/permissions-changed", test_permissions_changed },
                { "/dir-check/gone", test_gone },
                { "/dir-check/other-identity", test_other_identity },
                { "/dir-check/mount-changed", test_mount_changed },
                { "/dir-check/epoch", test_epoch },
                { "/dir-check/temporary-epoch", test_temporary_epoch },
        };

        g_test_init (&argc, &argv, NULL);
        for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
                g_test_add (cases[i].path, Fixture, NULL, fixture_init, cases[i].func, fixture_done);
        return g_test_run ();
}
