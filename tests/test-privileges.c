/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a user's download may do to a disk (issue 18): xferd runs as root on a
 * bus configured like the system bus, user A (xferd-test-a) downloads through
 * a connection of its own.
 *
 *  - Writing "as the owner" keeps none of root's disk privileges: on an ext2
 *    image whose blocks are half reserved for root, A's download stops where
 *    A's own writes would (a transient LocalFile error), not in root's reserve.
 *  - MaxFileSize= stops an endless body (and refuses an announced larger one).
 *  - KeepFree= leaves free space on the file system: at the reserve the job is
 *    a transient LocalFile error, and it goes on once space is freed.
 *  - A job reaches files with the groups of the connection that created it, as
 *    the bus reports them, not the user database's; they are stored with the
 *    job, so a restarted xferd uses them too.
 *
 * Needs root (mounts) and the test users; skips without them unless CI=true.
 */
#include <errno.h>
#include <sched.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "peer.h"
#include "poll-wait.h"
#include "proc-stat.h"
#include "test-cases.h"
#include "xferd-env.h"

#define USER_A "xferd-test-a"

typedef struct {
        uid_t uid;
        gid_t gid;
} UserIds;

static gboolean
needs_met (gboolean want_mke2fs)
{
        g_autofree char *mke2fs = want_mke2fs ? g_find_program_in_path ("mke2fs") : NULL;
        const char *missing = NULL;

        if (geteuid () != 0)
                missing = "root";
        else if (!getpwnam (USER_A))
                missing = "the user " USER_A " (scripts/test.sh makes it)";
        else if (want_mke2fs && !mke2fs)
                missing = "mke2fs (e2fsprogs)";
        return test_needs (missing);
}

static UserIds
user_a_ids (void)
{
        struct passwd *pw = getpwnam (USER_A);

        g_assert_nonnull (pw);
        return (UserIds) { pw->pw_uid, pw->pw_gid };
}

static void
chown_to_a (const char *path)
{
        UserIds a = user_a_ids ();

        g_assert_no_errno (chown (path, a.uid, a.gid));
}

/* What a case runs with. */
typedef struct {
        const char *config;             /* xferd.conf's text, or NULL */
        const char *const *xferd_env;   /* xferd's extra environment, or NULL */
        gboolean mke2fs;                /* makes a file system of its own */
} PrivilegesSetup;

/* The XferdEnvMake of every case: the fixture, a server, A's connection (env->a), and A's
 * download directory env->dir (not mounted yet); NULL, the case skipped, when what it needs
 * is missing. */
static XferdEnv *
privileges_env_make (gconstpointer data)
{
        const PrivilegesSetup *setup = data;
        BusFixtureOptions options = { .system_bus = TRUE, .config = setup->config, .xferd_env = setup->xferd_env };

        if (!needs_met (setup->mke2fs))
                return NULL;
        XferdEnv *env = xferd_env_new (&options);
        env->a = bus_client_new (env->fx, USER_A);
        return env;
}

static void
env_mount_tmpfs (XferdEnv *env, const char *size)
{
        g_autofree char *opts = g_strdup_printf ("size=%s,mode=0755", size);

        g_assert_cmpint (xferd_env_mount_tmpfs (env, env->dir, MS_NOSUID | MS_NODEV, opts), ==, 0);
        chown_to_a (env->dir);
}

/* An ext2 file system of size_kib KiB with percent of its blocks reserved for root. A loop
 * mount made by mount(8) frees its loop device once detached and no longer used. */
static void
env_mount_ext2 (XferdEnv *env, guint size_kib, guint percent)
{
        g_autofree char *blocks = g_strdup_printf ("%u", size_kib);
        g_autofree char *reserved = g_strdup_printf ("%u", percent);
        g_autofree char *image = g_build_filename (env->fx->tmpdir, "fs.img", NULL);
        g_autoptr(GError) error = NULL;

        const char *mkfs[] = { "mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-m", reserved, image, blocks, NULL };
        peer_run (NULL, NULL, mkfs, NULL, &error);
        g_assert_no_error (error);
        const char *mnt[] = { "mount", "-o", "loop,nosuid,nodev", image, env->dir, NULL };
        peer_run (NULL, NULL, mnt, NULL, &error);
        g_assert_no_error (error);
        xferd_env_defer_unmount (env, env->dir);
        chown_to_a (env->dir);
}

/* A's job for /name on the server into dir/name: created, file added, MinimumRetryDelay 1 s,
 * resumed. */
static char *
start_download (XferdEnv *env, const char *name)
{
        g_autofree char *path = g_strconcat ("/", name, NULL);
        g_autofree char *url = http_server_url (env->http, path);
        g_autofree char *dest = g_build_filename (env->dir, name, NULL);
        g_autofree char *job = bus_client_create_job (env->a, "limits", NULL);
        g_autoptr(GError) error = NULL;

        g_assert_true (bus_client_set_property (env->a, job, XFERD_JOB_IFACE, "MinimumRetryDelay",
                                                g_variant_new_uint32 (1), &error));
        g_assert_no_error (error);
        bus_client_add_file (env->a, job, url, dest);
        bus_client_job_call (env->a, job, "Resume");
        return g_steal_pointer (&job);
}

/* client's job transfers, client completes it, and dir/name holds content; returns that
 * path. */
static char *
finish_in (XferdEnv *env, BusClient *client, const char *job, const char *dir, const char *name, GBytes *content)
{
        g_autoptr(GError) error = NULL;
        char *dest = g_build_filename (dir, name, NULL);

        job_wait_state (env->fx, job, "transferred");
        g_autoptr(GVariant) reply = bus_client_call_job (client, job, "Complete", NULL, G_VARIANT_TYPE ("(b)"), &error);
        g_assert_no_error (error);
        assert_file_content (dest, content);
        return dest;
}

/* finish_in() for A's job into env->dir. */
static void
finish (XferdEnv *env, const char *job, const char *name, GBytes *content)
{
        g_free (finish_in (env, env->a, job, env->dir, name, content));
}

static goffset
temp_size (XferdEnv *env, const char *job)
{
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        GStatBuf st;

        g_assert_no_errno (g_stat (temp, &st));
        g_assert_cmpuint (st.st_uid, ==, user_a_ids ().uid);
        return st.st_size;
}

/* start_download(), then wait for state and a LocalFile error that names setting. */
static char *
start_until_local_error (XferdEnv *env, const char *name, const char *state, const char *setting)
{
        g_autofree char *job = start_download (env, name);

        job_wait_state (env->fx, job, state);
        job_assert_error (env->fx, job, "LocalFile", setting);
        return g_steal_pointer (&job);
}

/* ------------------------------------------------------------ root's reserve */

/* 8 MiB of ext2, half of it reserved for root: A may fill about 3.6 MiB. A 6 MiB download
 * of A's stops there with a transient LocalFile error (a full disk), although root could
 * write on; xferd writes A's file as A would, without CAP_SYS_RESOURCE and with A's fsuid. */
static void
test_root_reserve (XferdEnv *env)
{
        env_mount_ext2 (env, 8192, 50);
        g_autoptr(GBytes) content = xferd_env_serve_file (env, "big.bin", 6 * 1024 * 1024, NULL, NULL);
        g_autofree char *job = start_download (env, "big.bin");

        g_autofree char *reached = job_wait_state_get (env->fx, job, "transient-error");
        g_assert_cmpstr (reached, ==, "transient-error");
        job_assert_error (env->fx, job, "LocalFile", g_strerror (ENOSPC));
        /* Bytes in root's reserve would make it larger than the 50 % A may use. */
        g_assert_cmpint (temp_size (env, job), <, 4 * 1024 * 1024);
        bus_client_job_call (env->a, job, "Cancel");
}

static char *
status_field (pid_t pid, pid_t tid, const char *name)
{
        g_autofree char *path = proc_thread_file (pid, tid, "status");
        g_autofree char *status = NULL;
        g_auto(GStrv) lines = NULL;

        g_assert_true (g_file_get_contents (path, &status, NULL, NULL));
        lines = g_strsplit (status, "\n", -1);
        for (guint i = 0; lines[i]; i++)
                if (g_str_has_prefix (lines[i], name) && lines[i][strlen (name)] == ':')
                        return g_strstrip (g_strdup (lines[i] + strlen (name) + 1));
        g_assert_not_reached ();
}

/* The thread whose fsuid is uid's: the one that writes the file. */
static pid_t
writing_thread (pid_t pid, uid_t uid)
{
        g_autoptr(GArray) tids = proc_thread_ids (pid);

        for (guint i = 0; i < tids->len; i++) {
                pid_t tid = g_array_index (tids, pid_t, i);
                g_autofree char *uids = status_field (pid, tid, "Uid");
                g_auto(GStrv) u = g_regex_split_simple ("\\s+", uids, 0, 0);

                if (g_strv_length (u) == 4 && g_ascii_strtoull (u[3], NULL, 10) == uid)
                        return tid;
        }
        g_assert_not_reached ();
}

/* The same, seen from /proc: stopped in the middle of writing A's file (the stop point
 * write-as-owner), xferd's thread that writes it (a thread of the write pool) has A's fsuid and fsgid and no effective capability at
 * all (CAP_SYS_RESOURCE included, which this machine may not even grant root: then the test
 * above cannot tell). Continued, the download finishes. */
static void
test_write_credentials (XferdEnv *env)
{
        UserIds ids = user_a_ids ();
        chown_to_a (env->dir);

        g_autoptr(GBytes) content = xferd_env_serve_file (env, "file.bin", 64 * 1024, NULL, NULL);
        g_autofree char *job = start_download (env, "file.bin");
        pid_t pid = (pid_t) bus_fixture_note_xferd (env->fx);
        g_assert_cmpint (pid, >, 0);

        gint64 deadline = poll_deadline (WAIT_TIMEOUT_MS);
        while (proc_pid_state (pid) != 'T')
                g_assert_true (poll_again (deadline, 10));

        pid_t tid = writing_thread (pid, ids.uid);
        g_autofree char *cap_eff = status_field (pid, tid, "CapEff");
        g_autofree char *cap_prm = status_field (pid, tid, "CapPrm");
        g_autofree char *uids = status_field (pid, tid, "Uid");
        g_autofree char *gids = status_field (pid, tid, "Gid");
        g_test_message ("while writing: CapEff %s, CapPrm %s, Uid %s, Gid %s", cap_eff, cap_prm, uids, gids);
        g_assert_no_errno (kill (pid, SIGCONT));

        g_assert_cmpstr (cap_eff, ==, "0000000000000000");
        /* Permitted stays: the thread takes its capabilities back after the write. */
        g_assert_cmpstr (cap_prm, !=, "0000000000000000");
        g_auto(GStrv) u = g_regex_split_simple ("\\s+", uids, 0, 0);
        g_auto(GStrv) g = g_regex_split_simple ("\\s+", gids, 0, 0);
        g_assert_cmpuint (g_strv_length (u), ==, 4);
        g_assert_cmpuint (g_strv_length (g), ==, 4);
        g_assert_cmpstr (u[1], ==, "0");                /* the effective uid stays root's */
        g_assert_cmpuint (g_ascii_strtoull (u[3], NULL, 10), ==, ids.uid);   /* fsuid */
        g_assert_cmpuint (g_ascii_strtoull (g[3], NULL, 10), ==, ids.gid);   /* fsgid */

        finish (env, job, "file.bin", content);
}

/* ------------------------------------------------------------ MaxFileSize */

/* An endless body stops at MaxFileSize with a fatal LocalFile error naming the setting; a
 * response that announces more than MaxFileSize is refused before its first byte. A tmpfs
 * of 64 MiB keeps the machine's disk safe should the limit not hold. */
static void
test_max_file_size (XferdEnv *env)
{
        env_mount_tmpfs (env, "64m");

        g_autoptr(GBytes) seed = xferd_env_serve_file (env, "endless.bin", 1, NULL, NULL);
        http_server_set_endless (env->http, "/endless.bin", TRUE);
        g_autofree char *job = start_until_local_error (env, "endless.bin", "error", "MaxFileSize");
        g_assert_cmpint (temp_size (env, job), <=, 1024 * 1024);
        g_assert_cmpint (temp_size (env, job), >, 0);
        bus_client_job_call (env->a, job, "Cancel");

        g_autoptr(GBytes) big = xferd_env_serve_file (env, "big.bin", 1024 * 1024 + 1, NULL, NULL);
        g_autofree char *big_job = start_until_local_error (env, "big.bin", "error", "MaxFileSize");
        g_assert_cmpint (temp_size (env, big_job), ==, 0);
        bus_client_job_call (env->a, big_job, "Cancel");

        /* A file of exactly the limit is fine. */
        g_autoptr(GBytes) fits = xferd_env_serve_file (env, "fits.bin", 1024 * 1024, NULL, NULL);
        g_autofree char *fits_job = start_download (env, "fits.bin");
        finish (env, fits_job, "fits.bin", fits);
}

/* ------------------------------------------------------------ KeepFree */

/* A tmpfs of 4 MiB and KeepFree=2M: a 3 MiB download stops with about 2 MiB free, a
 * transient LocalFile error naming KeepFree; once the file system grows it goes on from the
 * bytes it holds and finishes byte-exact. */
static void
test_keep_free (XferdEnv *env)
{
        env_mount_tmpfs (env, "4m");

        g_autoptr(GBytes) content = xferd_env_serve_file (env, "file.bin", 3 * 1024 * 1024, NULL, NULL);
        g_autofree char *job = start_until_local_error (env, "file.bin", "transient-error", "KeepFree");

        goffset held = temp_size (env, job);
        struct statvfs sv;
        g_assert_no_errno (statvfs (env->dir, &sv));
        g_test_message ("held %" G_GOFFSET_FORMAT " bytes, %" G_GUINT64_FORMAT " free", held,
                        (guint64) sv.f_bavail * sv.f_frsize);
        g_assert_cmpint (held, >, 0);
        g_assert_cmpint (held, <=, 2 * 1024 * 1024);
        g_assert_cmpuint ((guint64) sv.f_bavail * sv.f_frsize, >=, 2 * 1024 * 1024);

        /* Space comes back: the retry (MinimumRetryDelay 1 s) finishes the file. */
        g_assert_no_errno (mount (NULL, env->dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=16m,mode=0755"));
        finish (env, job, "file.bin", content);
}

/* ------------------------------------------------------------ groups */

/* A gid no group of the machine has: A cannot be in it by the user database. */
static gid_t
unused_gid (void)
{
        for (gid_t g = 4242; g < 60000; g++)
                if (!getgrgid (g))
                        return g;
        g_assert_not_reached ();
}

static char *
group_dir (XferdEnv *env, const char *name, gid_t gid)
{
        char *dir = bus_fixture_mkdir (env->fx, name);

        g_assert_no_errno (chown (dir, 0, gid));
        g_assert_no_errno (chmod (dir, 0770));
        return dir;
}

/* What both group cases start from: a gid no group has (*extra: A is not in it by the user
 * database), a directory only that group may write to (*dir), and A's connection holding its
 * primary group and that one (setpriv). */
static BusClient *
a_with_extra_group (XferdEnv *env, gid_t *extra, char **dir)
{
        g_autofree char *primary_s = g_strdup_printf ("%u", (guint) user_a_ids ().gid);
        g_autofree char *extra_s = NULL;

        *extra = unused_gid ();
        extra_s = g_strdup_printf ("%u", (guint) *extra);
        *dir = group_dir (env, "by-extra-group", *extra);
        return bus_client_new_with_groups (env->fx, USER_A, primary_s, extra_s);
}

/* Creates a job of client's into dir/name and resumes it; NULL and the error when AddFile
 * fails. */
static char *
try_download (BusClient *client, const char *url, const char *dir, const char *name, GError **error)
{
        g_autofree char *dest = g_build_filename (dir, name, NULL);
        g_autofree char *job = bus_client_create_job (client, "groups", NULL);
        g_autoptr(GVariant) reply = bus_client_call_job (client, job, "AddFile", g_variant_new ("(ss)", url, dest),
                                                         G_VARIANT_TYPE_UNIT, error);
        if (!reply) {
                bus_client_job_call (client, job, "Cancel");
                return NULL;
        }
        bus_client_job_call (client, job, "Resume");
        return g_steal_pointer (&job);
}

static void
assert_owned (const char *path, uid_t uid, gid_t gid)
{
        GStatBuf st;

        g_assert_no_errno (g_stat (path, &st));
        g_assert_cmpuint (st.st_uid, ==, uid);
        g_assert_cmpuint (st.st_gid, ==, gid);
}

/* A's connection holds a group the user database does not give A (setpriv --groups): a
 * download into a directory only that group may write to works, with the file's group A's
 * primary one. A connection that lacks A's primary group (which the user database lists)
 * cannot download into a directory only that group may write to, and its files get the
 * overflow group, never one it does not hold. */
static void
test_caller_groups (XferdEnv *env)
{
        UserIds ids = user_a_ids ();
        gid_t extra;
        g_autofree char *by_extra = NULL;
        /* A with its own primary group and the extra one. */
        g_autoptr(BusClient) with_extra = a_with_extra_group (env, &extra, &by_extra);
        g_autofree char *extra_s = g_strdup_printf ("%u", (guint) extra);
        g_autofree char *by_primary = group_dir (env, "by-primary-group", ids.gid);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/file.bin", 100 * 1000);
        g_autofree char *url = http_server_url (env->http, "/file.bin");
        g_autoptr(GError) error = NULL;

        g_autofree char *job = try_download (with_extra, url, by_extra, "file.bin", &error);
        g_assert_no_error (error);
        g_autofree char *dest = finish_in (env, with_extra, job, by_extra, "file.bin", content);
        assert_owned (dest, ids.uid, ids.gid);

        /* A with only the extra group: not its primary group's directory, and no file of that
         * group elsewhere either. */
        g_autoptr(BusClient) only_extra = bus_client_new_with_groups (env->fx, USER_A, extra_s, "");
        g_autofree char *refused = try_download (only_extra, url, by_primary, "file.bin", &error);
        g_assert_null (refused);
        bus_assert_error (error, XFERD_ERROR ("InvalidPath"));
        g_clear_error (&error);
        g_autofree char *job2 = try_download (only_extra, url, by_extra, "second.bin", &error);
        g_assert_no_error (error);
        g_autofree char *dest2 = finish_in (env, only_extra, job2, by_extra, "second.bin", content);
        assert_owned (dest2, ids.uid, 65534);
        g_auto(GStrv) names = list_dir (by_primary);
        g_assert_cmpuint (g_strv_length (names), ==, 0);
}

/* The groups are stored with the job: killed in the middle of the download, xferd starts
 * again, loads the job and goes on writing into the directory of the connection's group. */
static void
test_caller_groups_restart (XferdEnv *env)
{
        gid_t extra;
        g_autofree char *by_extra = NULL;
        g_autoptr(BusClient) with_extra = a_with_extra_group (env, &extra, &by_extra);
        g_autoptr(GBytes) content = http_server_add_generated (env->http, "/file.bin", 300 * 1000);
        g_autofree char *url = http_server_url (env->http, "/file.bin");
        g_autoptr(GError) error = NULL;

        http_server_stall_after (env->http, "/file.bin", 100 * 1000);
        g_autofree char *job = try_download (with_extra, url, by_extra, "file.bin", &error);
        g_assert_no_error (error);
        g_assert_true (http_server_wait_stalled (env->http, "/file.bin", 1, WAIT_TIMEOUT_MS));
        g_autofree char *temp = xferd_wait_temp (env->fx, job, 0, 100 * 1000);

        xferd_process_kill (env->fx);
        http_server_release (env->http, "/file.bin");
        /* The next call starts xferd again; it resumes the job from the store. */
        xferd_process_start (env->fx);
        g_free (finish_in (env, with_extra, job, by_extra, "file.bin", content));
}

/* The root reserve of a file system of its own. */
static const PrivilegesSetup root_reserve = { .config = "[Daemon]\nKeepFree=0\n", .mke2fs = TRUE };
/* xferd stops where it writes as the owner. */
static const PrivilegesSetup write_stopped = {
        .config = "[Daemon]\nKeepFree=0\n",
        .xferd_env = (const char *const[]) { "XFERD_TEST_STOP_POINT=write-as-owner", NULL },
};
static const PrivilegesSetup max_file_size = { .config = "[Daemon]\nMaxFileSize=1M\nKeepFree=0\n" };
static const PrivilegesSetup keep_free_2m = { .config = "[Daemon]\nKeepFree=2M\n" };
static const PrivilegesSetup defaults = { NULL };

static const XferdEnvCase env_cases[] = {
        { "/privileges/root-reserve", test_root_reserve, &root_reserve },
        { "/privileges/write-credentials", test_write_credentials, &write_stopped },
        { "/privileges/max-file-size", test_max_file_size, &max_file_size },
        { "/privileges/keep-free", test_keep_free, &keep_free_2m },
        { "/privileges/caller-groups", test_caller_groups, &defaults },
        { "/privileges/caller-groups-restart", test_caller_groups_restart, &defaults },
        { NULL, NULL, NULL }
};

int
main (int argc, char **argv)
{
        /* Mounts in a namespace of this test's own (dbus-daemon and xferd, its children, share
         * it): a test that aborts before its teardown leaves none behind. Before any thread. */
        if (geteuid () == 0 && unshare (CLONE_NEWNS) == 0)
                (void) mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        g_test_init (&argc, &argv, NULL);
        xferd_env_add_cases (&(const XferdEnvCases) { privileges_env_make, env_cases });
        return g_test_run ();
}
