/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The multi-user system service (issue 4): xferd runs as root on a private
 * bus configured like the system bus, and two unprivileged users act on it,
 * A (xferd-test-a) and B (xferd-test-b), each through its own connection
 * (xferd-test-client run with runuser, see bus_client_new). B attacks A and
 * the machine; every case asserts the exact D-Bus error name and that the
 * file system it aimed at is unchanged (names, types, modes, owners and
 * contents, compared before and after).
 *
 * Needs root and the two users, and group-dir the group xferd-test-g with A in
 * it (scripts/test.sh makes them); without them the tests skip, or fail when
 * CI=true.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "peer.h"
#include "test-cases.h"
#include "xferd-env.h"

#define USER_A "xferd-test-a"
#define USER_B "xferd-test-b"
/* USER_A is in it beside its own group, USER_B is not (scripts/test.sh makes it). */
#define GROUP_G "xferd-test-g"
#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"

#define SIZE (256 * 1024 + 17)
#define STALL (64 * 1024)

typedef struct {
        uid_t uid;
        gid_t gid;
        char *home;
} TestUser;

/* The targets as a case found them before B acted (snapshot()). */
typedef struct {
        char *private_dir, *b_dir, *etc;
} Snapshots;

static void
snapshots_clear (Snapshots *s)
{
        g_clear_pointer (&s->private_dir, g_free);
        g_clear_pointer (&s->b_dir, g_free);
        g_clear_pointer (&s->etc, g_free);
}

/* What B aims at, beside the fixture (an XferdEnv on the system bus with /file.bin on its
 * server and A's and B's connections): removed with it. */
typedef struct {
        TestUser ua, ub;
        char *private_dir;      /* A's 0700 directory in A's home, holding secret.txt */
        char *secret_path;
        char *b_dir;            /* B's own directory (0755) */
        char *etc_victim;       /* a file in /etc (root's, 0644) B aims at */
        char *etc_new;          /* a name in /etc B tries to create */
        Snapshots before;       /* snapshots_take() */
} Targets;

/* ------------------------------------------------------------- set-up */

static void
user_load (TestUser *u, const char *name)
{
        struct passwd *pw = getpwnam (name);

        g_assert_nonnull (pw);
        u->uid = pw->pw_uid;
        u->gid = pw->pw_gid;
        u->home = g_strdup (pw->pw_dir);
}

static void
write_owned (const char *path, const char *content, const TestUser *u, guint mode)
{
        g_autoptr(GError) error = NULL;

        g_file_set_contents_full (path, content, -1, G_FILE_SET_CONTENTS_NONE, mode, &error);
        g_assert_no_error (error);
        g_assert_no_errno (chmod (path, mode));
        if (u)
                g_assert_no_errno (chown (path, u->uid, u->gid));
}

static void
mkdir_owned (const char *path, const TestUser *u, guint mode)
{
        g_assert_no_errno (g_mkdir (path, mode));
        g_assert_no_errno (chmod (path, mode));
        g_assert_no_errno (chown (path, u->uid, u->gid));
}

/* What an earlier run left when it aborted (a failed assertion skips the
 * teardown): names with the pid of a process that is gone. */
static void
remove_leftovers (const char *dir, const char *prefix)
{
        g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name (d))) {
                if (!g_str_has_prefix (name, prefix))
                        continue;
                gint64 pid = g_ascii_strtoll (name + strlen (prefix), NULL, 10);
                if (pid > 0 && kill ((pid_t) pid, 0) < 0 && errno == ESRCH) {
                        g_autofree char *path = g_build_filename (dir, name, NULL);
                        peer_remove_tree (path);
                }
        }
}

static void
targets_free (gpointer data)
{
        Targets *t = data;

        peer_remove_tree (t->private_dir);
        g_unlink (t->etc_victim);
        g_unlink (t->etc_new);
        g_free (t->private_dir);
        g_free (t->secret_path);
        g_free (t->b_dir);
        g_free (t->etc_victim);
        g_free (t->etc_new);
        g_free (t->ua.home);
        g_free (t->ub.home);
        snapshots_clear (&t->before);
        g_free (t);
}

/* The fixture (options: on the system bus), /file.bin on its server, A's and B's
 * connections, and what B aims at (*targets, if asked: ended with the env); NULL when the
 * test cannot run (skipped, or failed under CI). */
static XferdEnv *
env_new_with (const BusFixtureOptions *options, Targets **targets)
{
        static const BusFixtureOptions defaults = { .system_bus = TRUE };
        XferdEnv *env;
        Targets *t;

        if (!test_needs_root_and_users ())
                return NULL;
        if (!options)
                options = &defaults;
        g_assert_true (options->system_bus);

        t = g_new0 (Targets, 1);
        user_load (&t->ua, USER_A);
        user_load (&t->ub, USER_B);
        remove_leftovers ("/etc", "xferd-test-victim-");
        remove_leftovers ("/etc", "xferd-test-new-");
        remove_leftovers (t->ua.home, "xferd-test-");
        env = xferd_env_new (options);
        xferd_env_defer (env, targets_free, t);
        xferd_env_serve (env, "/file.bin", SIZE);

        /* A's private directory: 0700, in A's home. */
        g_autofree char *tmpl = g_strdup_printf ("%s/xferd-test-%d-XXXXXX", t->ua.home, (int) getpid ());
        if (!g_file_test (t->ua.home, G_FILE_TEST_IS_DIR))
                g_error ("%s has no home directory %s (useradd -m)", USER_A, t->ua.home);
        t->private_dir = g_mkdtemp_full (g_steal_pointer (&tmpl), 0700);
        g_assert_nonnull (t->private_dir);
        g_assert_no_errno (chown (t->private_dir, t->ua.uid, t->ua.gid));
        t->secret_path = g_build_filename (t->private_dir, "secret.txt", NULL);
        write_owned (t->secret_path, "A's secret, not for B\n", &t->ua, 0600);

        t->b_dir = g_build_filename (env->fx->tmpdir, "b", NULL);
        mkdir_owned (t->b_dir, &t->ub, 0755);

        t->etc_victim = g_strdup_printf ("/etc/xferd-test-victim-%d", (int) getpid ());
        t->etc_new = g_strdup_printf ("/etc/xferd-test-new-%d", (int) getpid ());
        write_owned (t->etc_victim, "root's file in /etc\n", NULL, 0644);

        xferd_env_add_users (env);
        g_assert_cmpuint (bus_client_uid (env->a), ==, t->ua.uid);
        g_assert_cmpuint (bus_client_uid (env->b), ==, t->ub.uid);
        if (targets)
                *targets = t;
        return env;
}

/* The XferdEnvMake of the cases: env_new_with() the options (NULL: on the system bus), the
 * targets in env->data. */
static XferdEnv *
multiuser_env_make (gconstpointer options)
{
        Targets *t = NULL;
        XferdEnv *env = env_new_with (options, &t);

        if (env)
                env->data = t;
        return env;
}

/* ----------------------------------------------- file-system snapshots */

static void
snapshot_into (GString *out, const char *path, const char *rel)
{
        GStatBuf st;

        if (g_lstat (path, &st) < 0) {
                g_string_append_printf (out, "%s: %s\n", rel, g_strerror (errno));
                return;
        }
        g_string_append_printf (out, "%s: mode %06o uid %u gid %u", rel, (guint) st.st_mode,
                                (guint) st.st_uid, (guint) st.st_gid);
        if (S_ISLNK (st.st_mode)) {
                g_autofree char *target = g_file_read_link (path, NULL);
                g_string_append_printf (out, " -> %s\n", target);
        } else if (S_ISREG (st.st_mode)) {
                g_autofree char *data = NULL;
                gsize len = 0;

                g_assert_true (g_file_get_contents (path, &data, &len, NULL));
                g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
                g_string_append_printf (out, " size %" G_GSIZE_FORMAT " sha256 %s\n", len, sum);
        } else if (S_ISDIR (st.st_mode)) {
                g_auto(GStrv) names = list_dir (path);

                g_string_append_c (out, '\n');
                for (guint i = 0; names[i]; i++) {
                        const char *n = names[i];
                        g_autofree char *child = g_build_filename (path, n, NULL);
                        g_autofree char *child_rel = g_build_filename (rel, n, NULL);
                        snapshot_into (out, child, child_rel);
                }
        } else
                g_string_append_c (out, '\n');
}

/* Every entry under path (not following symlinks): type and mode, owner,
 * size and checksum of the contents, link targets. */
static char *
snapshot (const char *path)
{
        GString *out = g_string_new (NULL);

        snapshot_into (out, path, ".");
        return g_string_free (out, FALSE);
}

/* Names in dir that xferd would have made: a destination B named, or a
 * temporary file (".NAME.xferd-JOB-N"). */
static char *
xferd_names_in (const char *dir, const char *dest)
{
        g_auto(GStrv) names = list_dir (dir);
        g_autofree char *dest_name = dest ? g_path_get_basename (dest) : NULL;
        GString *found = g_string_new (NULL);

        for (guint i = 0; names[i]; i++)
                if (strstr (names[i], ".xferd-") || g_strcmp0 (names[i], dest_name) == 0)
                        g_string_append_printf (found, "%s%s", found->len ? ", " : "", names[i]);
        return g_string_free (found, FALSE);
}

/* /etc is too big and too busy (packages, other tests) to compare whole: the
 * victim file in full, and nothing in /etc that xferd would have made. */
static char *
snapshot_etc (Targets *t)
{
        g_autofree char *victim = snapshot (t->etc_victim);
        g_autofree char *made = xferd_names_in ("/etc", t->etc_new);

        return g_strconcat (victim, "made by xferd: [", made, "]\n", NULL);
}

/* What a case sees before B acts: t->before. */
static void
snapshots_take (Targets *t)
{
        snapshots_clear (&t->before);
        t->before.private_dir = snapshot (t->private_dir);
        t->before.b_dir = snapshot (t->b_dir);
        t->before.etc = snapshot_etc (t);
}

#define assert_unchanged(before, path) G_STMT_START {                            \
        g_autofree char *after__ = snapshot (path);                               \
        g_assert_cmpstr (after__, ==, (before));                                  \
} G_STMT_END

#define assert_etc_unchanged(t, before) G_STMT_START {                           \
        g_autofree char *after__ = snapshot_etc (t);                              \
        g_assert_cmpstr (after__, ==, (before));                                  \
        g_assert_false (g_file_test ((t)->etc_new, G_FILE_TEST_EXISTS));        \
        g_assert_nonnull (strstr (after__, "made by xferd: []"));                 \
} G_STMT_END

/* A's directory and /etc are what B aims at, unchanged since snapshots_take(); B's own
 * directory is checked by each test as it needs. */
#define assert_targets_unchanged(t) G_STMT_START {                                \
        assert_unchanged ((t)->before.private_dir, (t)->private_dir);              \
        assert_etc_unchanged ((t), (t)->before.etc);                               \
} G_STMT_END

/* ------------------------------------------------------------ helpers */

static void
run_as (XferdEnv *env, const char *user, const char *const *argv)
{
        g_assert_cmpint (bus_fixture_run_as (env->fx, user, argv, NULL, NULL), ==, 0);
}

/* B plants a symlink (as B, in B's directory). */
static void
b_symlink (XferdEnv *env, const char *target, const char *link)
{
        run_as (env, USER_B, (const char *const[]) { "ln", "-s", target, link, NULL });
}

static void
b_rename (XferdEnv *env, const char *from, const char *to)
{
        run_as (env, USER_B, (const char *const[]) { "mv", "-T", from, to, NULL });
}

static void
b_mkdir (XferdEnv *env, const char *path)
{
        run_as (env, USER_B, (const char *const[]) { "mkdir", path, NULL });
}

static void
b_write (XferdEnv *env, const char *path, const char *content)
{
        run_as (env, USER_B, (const char *const[]) { "sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh",
                                                     content, path, NULL });
}

/* Asserts that a call fails with exactly the D-Bus error `name`. */
#define assert_call_fails(client, path, iface, method, params, name) G_STMT_START {  \
        g_autoptr(GError) e__ = NULL;                                                   \
        g_autoptr(GVariant) r__ = bus_client_call ((client), (path), (iface), (method),  \
                                                   (params), NULL, &e__);                \
        g_test_message ("%s.%s on %s", (iface), (method), (path));                      \
        bus_assert_error (e__, (name));                                                 \
} G_STMT_END

#define assert_job_call_fails(client, job, method, params, name) \
        assert_call_fails ((client), (job), XFERD_JOB_IFACE, (method), (params), (name))

static gboolean
client_complete (BusClient *client, const char *job, GError **error)
{
        g_autoptr(GVariant) reply = bus_client_call_job (client, job, "Complete", NULL, G_VARIANT_TYPE ("(b)"), error);
        gboolean partial = FALSE;

        if (reply)
                g_variant_get (reply, "(b)", &partial);
        return partial;
}

static gboolean
managed_objects_contain (GVariant *reply, const char *job)
{
        g_autoptr(GVariant) objects = g_variant_get_child_value (reply, 0);
        g_autoptr(GVariant) entry = g_variant_lookup_value (objects, job, NULL);

        return entry != NULL;
}

static gboolean
client_manages (BusClient *client, const char *job)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_client_call (client, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                     "GetManagedObjects", NULL,
                                                     G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);

        g_assert_no_error (error);
        return managed_objects_contain (reply, job);
}

/* Whether the introspection of the job directory lists the job's node. */
static gboolean
introspection_lists (const char *xml, const char *id)
{
        g_autofree char *node = g_strdup_printf ("<node name=\"%s\"", id);

        return strstr (xml, node) != NULL;
}

static gboolean
client_introspection_lists (BusClient *client, const char *id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = bus_client_call (client, "/org/xferd/Transfer1/job",
                                                     "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                                                     G_VARIANT_TYPE ("(s)"), &error);
        const char *xml;

        g_assert_no_error (error);
        g_variant_get (reply, "(&s)", &xml);
        return introspection_lists (xml, id);
}

/* The same three views as root, through the fixture's own connection. */
static gboolean
root_sees_job (XferdEnv *env, const char *job, const char *id)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) all = bus_call_manager (env->fx, "ListJobs", g_variant_new ("(b)", TRUE),
                                                    G_VARIANT_TYPE ("(a(ssssutto))"), &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) objects = bus_call (env->fx, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                "GetManagedObjects", NULL,
                                                G_VARIANT_TYPE ("(a{oa{sa{sv}}})"), &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) introspection = bus_call (env->fx, "/org/xferd/Transfer1/job",
                                                      "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                                                      G_VARIANT_TYPE ("(s)"), &error);
        g_assert_no_error (error);
        const char *xml;

        g_variant_get (introspection, "(&s)", &xml);
        return list_jobs_reply_has (all, id) && managed_objects_contain (objects, job) && introspection_lists (xml, id);
}

static char *
client_job_string (BusClient *client, const char *job, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = bus_client_get_property (client, job, XFERD_JOB_IFACE, name, &error);

        g_assert_no_error (error);
        return g_variant_dup_string (v, NULL);
}

static guint32
client_job_uint32 (BusClient *client, const char *job, const char *name)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) v = bus_client_get_property (client, job, XFERD_JOB_IFACE, name, &error);

        g_assert_no_error (error);
        return g_variant_get_uint32 (v);
}

/* Waits (as root) until the job leaves the states a transfer passes
 * through, and returns the State it settled in. */
static char *
job_wait_settled (BusFixture *fx, const char *job)
{
        g_autofree char *state = job_wait_state_get (fx, job, "transferred");

        return g_steal_pointer (&state);
}

static void
assert_owned_regular (const char *path, const TestUser *u, guint mode)
{
        GStatBuf st;

        g_assert_no_errno (g_lstat (path, &st));
        g_assert_true (S_ISREG (st.st_mode));
        g_assert_cmpuint (st.st_uid, ==, u->uid);
        g_assert_cmpuint (st.st_gid, ==, u->gid);
        g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

/* -------------------------------------------------- who may do what */

/* The rows of a ListJobs reply, in its order, each "id name type state owner done total" and,
 * when its path is the id's, "path-ok", then a space; a ListJobsCompact reply's rows the same
 * without the path. */
static char *
listed_rows (GVariant *reply)
{
        g_autoptr(GVariant) rows = g_variant_get_child_value (reply, 0);
        gboolean paths = g_variant_type_equal (g_variant_get_type (rows), G_VARIANT_TYPE ("a(ssssutto)"));
        GString *s = g_string_new (NULL);

        g_assert_true (paths || g_variant_type_equal (g_variant_get_type (rows), G_VARIANT_TYPE ("a(ssssutt)")));
        for (gsize i = 0; i < g_variant_n_children (rows); i++) {
                g_autoptr(GVariant) row = g_variant_get_child_value (rows, i);
                const char *id, *name, *type, *state, *path = NULL;
                guint32 owner;
                guint64 done, total;

                if (paths)
                        g_variant_get (row, "(&s&s&s&sutt&o)", &id, &name, &type, &state, &owner, &done, &total, &path);
                else
                        g_variant_get (row, "(&s&s&s&sutt)", &id, &name, &type, &state, &owner, &done, &total);
                g_string_append_printf (s, "%s %s %s %s %u %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, id, name, type,
                                        state, owner, done, total);
                if (path) {
                        g_autofree char *expected = g_strconcat (XFERD_JOB_PATH_PREFIX, id, NULL);
                        g_assert_cmpstr (path, ==, expected);
                }
                g_string_append (s, " ");
        }
        return g_string_free (s, FALSE);
}

/* The ids of listed_rows(), each followed by a space. */
static char *
listed_ids (GVariant *reply)
{
        g_autoptr(GVariant) rows = g_variant_get_child_value (reply, 0);
        GString *ids = g_string_new (NULL);

        for (gsize i = 0; i < g_variant_n_children (rows); i++) {
                g_autoptr(GVariant) row = g_variant_get_child_value (rows, i);
                g_autoptr(GVariant) id = g_variant_get_child_value (row, 0);

                g_string_append_printf (ids, "%s ", g_variant_get_string (id, NULL));
        }
        return g_string_free (ids, FALSE);
}

/* ListJobs(false) of client lists exactly `expected` (ids each followed by a space), in order,
 * and ListJobsCompact(false) the same rows without their paths. */
static void
assert_client_lists (BusClient *client, const char *expected)
{
        g_autoptr(GVariant) reply = bus_client_call_manager (client, "ListJobs", g_variant_new ("(b)", FALSE),
                                                             G_VARIANT_TYPE ("(a(ssssutto))"), NULL);
        g_autoptr(GVariant) compact = bus_client_call_manager (client, "ListJobsCompact", g_variant_new ("(b)", FALSE),
                                                               G_VARIANT_TYPE ("(a(ssssutt))"), NULL);
        g_autofree char *ids = NULL, *rows = NULL, *compact_rows = NULL;

        g_assert_nonnull (reply);
        g_assert_nonnull (compact);
        ids = listed_ids (reply);
        g_assert_cmpstr (ids, ==, expected);
        rows = listed_rows (reply);
        compact_rows = listed_rows (compact);
        g_assert_cmpstr (compact_rows, ==, rows);
}

/* Each user's ListJobs lists that user's jobs and no other, oldest first, however the users'
 * jobs interleave, leave the queue, and come again after a user had none; root's
 * ListJobs(true) lists them all in the one order. ListJobsCompact gives the same rows without
 * their paths, each of which is the prefix and the id. */
static void
test_list_own_order (XferdEnv *env)
{
        g_autofree char *a1 = NULL, *b1 = NULL, *a2 = NULL, *b2 = NULL, *a3 = NULL, *b3 = NULL, *a4 = NULL;
        g_autofree char *ja1 = bus_client_create_job (env->a, "a1", &a1);
        g_autofree char *jb1 = bus_client_create_job (env->b, "b1", &b1);
        g_autofree char *ja2 = bus_client_create_job (env->a, "a2", &a2);
        g_autofree char *jb2 = bus_client_create_job (env->b, "b2", &b2);
        /* A name beyond ASCII: the rows copy display names in without a check of their own. */
        g_autofree char *ja3 = bus_client_create_job (env->a, "a3 \u2713 \u00dcn\u00efc\u00f8d\u00e9", &a3);
        g_autofree char *expected = NULL;

        bus_client_job_call (env->a, ja2, "Cancel");
        g_free (expected), expected = g_strdup_printf ("%s %s ", a1, a3);
        assert_client_lists (env->a, expected);
        g_free (expected), expected = g_strdup_printf ("%s %s ", b1, b2);
        assert_client_lists (env->b, expected);
        g_autoptr(GVariant) all = bus_call_manager (env->fx, "ListJobs", g_variant_new ("(b)", TRUE),
                                                    G_VARIANT_TYPE ("(a(ssssutto))"), NULL);
        g_autoptr(GVariant) all_compact = bus_call_manager (env->fx, "ListJobsCompact", g_variant_new ("(b)", TRUE),
                                                            G_VARIANT_TYPE ("(a(ssssutt))"), NULL);
        g_autofree char *all_ids = listed_ids (all);
        g_autofree char *all_rows = listed_rows (all), *all_compact_rows = listed_rows (all_compact);
        g_free (expected), expected = g_strdup_printf ("%s %s %s %s ", a1, b1, b2, a3);
        g_assert_cmpstr (all_ids, ==, expected);
        g_assert_cmpstr (all_compact_rows, ==, all_rows);
        g_free (expected), expected = g_strdup_printf ("%s a3 \u2713 \u00dcn\u00efc\u00f8d\u00e9 ", a3);
        g_assert_nonnull (strstr (all_rows, expected));

        /* B's last jobs go, and B starts again. */
        bus_client_job_call (env->b, jb1, "Cancel");
        bus_client_job_call (env->b, jb2, "Cancel");
        assert_client_lists (env->b, "");
        g_autofree char *jb3 = bus_client_create_job (env->b, "b3", &b3);
        g_autofree char *ja4 = bus_client_create_job (env->a, "a4", &a4);
        g_free (expected), expected = g_strdup_printf ("%s ", b3);
        assert_client_lists (env->b, expected);
        g_free (expected), expected = g_strdup_printf ("%s %s %s ", a1, a3, a4);
        assert_client_lists (env->a, expected);
}

/* A's job "a-job" of env->url into a.bin in A's private directory (*dest if asked); its id
 * in *id. */
static char *
a_private_job (XferdEnv *env, char **id, char **dest)
{
        Targets *t = env->data;
        g_autofree char *path = g_build_filename (t->private_dir, "a.bin", NULL);
        char *job = bus_client_create_job (env->a, "a-job", id);

        bus_client_add_file (env->a, job, env->url, path);
        if (dest)
                *dest = g_steal_pointer (&path);
        return job;
}

/* B attacks a job of A through every method and property: AccessDenied each
 * time, the job and every directory unchanged; B does not see the job in
 * ListJobs, GetManagedObjects or the introspection. */
static void
test_other_user_denied (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *id = NULL, *b_id = NULL;
        g_autofree char *b_dest = g_build_filename (t->b_dir, "b.bin", NULL);
        g_autofree char *job = a_private_job (env, &id, NULL);
        g_autofree char *b_job = bus_client_create_job (env->b, "b-job", &b_id);
        snapshots_take (t);

        /* Every Job method, with arguments that would be valid for B's own job. */
        assert_job_call_fails (env->b, job, "Cancel", NULL, ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "Complete", NULL, ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "Suspend", NULL, ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "Resume", NULL, ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "AddFile", g_variant_new ("(ss)", env->url, b_dest), ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "AddFiles", g_variant_new_parsed ("([(%s, %s)],)", env->url, b_dest),
                               ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "ListFiles", NULL, ACCESS_DENIED);
        assert_job_call_fails (env->b, job, "SetHttpHeaders",
                               g_variant_new_parsed ("(['X-From-B: 1'],)"), ACCESS_DENIED);

        /* Properties: read one, read all, write. */
        static const char *const props[] = { "State", "DisplayName", "Owner", "HttpHeaderNames", "Id", NULL };
        for (guint i = 0; props[i]; i++)
                assert_call_fails (env->b, job, "org.freedesktop.DBus.Properties", "Get",
                                   g_variant_new ("(ss)", XFERD_JOB_IFACE, props[i]), ACCESS_DENIED);
        assert_call_fails (env->b, job, "org.freedesktop.DBus.Properties", "GetAll",
                           g_variant_new ("(s)", XFERD_JOB_IFACE), ACCESS_DENIED);
        assert_call_fails (env->b, job, "org.freedesktop.DBus.Properties", "Set",
                           g_variant_new ("(ssv)", XFERD_JOB_IFACE, "DisplayName", g_variant_new_string ("pwned")),
                           ACCESS_DENIED);
        assert_call_fails (env->b, job, "org.freedesktop.DBus.Properties", "Set",
                           g_variant_new ("(ssv)", XFERD_JOB_IFACE, "Priority", g_variant_new_string ("foreground")),
                           ACCESS_DENIED);
        assert_call_fails (env->b, job, "org.freedesktop.DBus.Properties", "Set",
                           g_variant_new ("(ssv)", XFERD_JOB_IFACE, "AutoComplete", g_variant_new_boolean (TRUE)),
                           ACCESS_DENIED);
        /* The object itself. */
        assert_call_fails (env->b, job, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, ACCESS_DENIED);
        assert_call_fails (env->b, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "GetJob", g_variant_new ("(s)", id),
                           ACCESS_DENIED);

        /* Lists: B sees its own job and not A's; all users needs root. */
        g_assert_false (bus_client_lists_job (env->b, id));
        g_assert_true (bus_client_lists_job (env->b, b_id));
        assert_call_fails (env->b, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobs", g_variant_new ("(b)", TRUE),
                           ACCESS_DENIED);
        assert_call_fails (env->b, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "ListJobsCompact",
                           g_variant_new ("(b)", TRUE), ACCESS_DENIED);
        g_assert_false (client_manages (env->b, job));
        g_assert_true (client_manages (env->b, b_job));
        g_assert_false (client_introspection_lists (env->b, id));
        g_assert_true (client_introspection_lists (env->b, b_id));
        /* And the other way round. */
        g_assert_false (bus_client_lists_job (env->a, b_id));
        g_assert_false (client_manages (env->a, b_job));
        g_assert_false (client_introspection_lists (env->a, b_id));

        /* Manager settings are root's. */
        assert_call_fails (env->b, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set",
                           g_variant_new ("(ssv)", XFERD_MANAGER_IFACE, "MaxBackgroundTransfers",
                                          g_variant_new_uint32 (64)), ACCESS_DENIED);
        assert_call_fails (env->b, XFERD_MANAGER_PATH, "org.freedesktop.DBus.Properties", "Set",
                           g_variant_new ("(ssv)", XFERD_MANAGER_IFACE, "BackgroundBandwidthLimit",
                                          g_variant_new_uint64 (1)), ACCESS_DENIED);

        /* Nothing changed: the job as A sees it, and the file system. */
        g_autofree char *state = client_job_string (env->a, job, "State");
        g_autofree char *name = client_job_string (env->a, job, "DisplayName");
        g_autofree char *priority = client_job_string (env->a, job, "Priority");
        g_assert_cmpstr (state, ==, "suspended");
        g_assert_cmpstr (name, ==, "a-job");
        g_assert_cmpstr (priority, ==, "normal");
        g_assert_cmpuint (client_job_uint32 (env->a, job, "FilesTotal"), ==, 1);
        g_assert_cmpuint (client_job_uint32 (env->a, job, "Owner"), ==, t->ua.uid);
        g_autoptr(GVariant) names = bus_client_get_property (env->a, job, XFERD_JOB_IFACE, "HttpHeaderNames", NULL);
        g_assert_cmpuint (g_variant_n_children (names), ==, 0);
        g_assert_false (job_get_boolean (env->fx, job, "AutoComplete"));
        g_autoptr(GVariant) max = bus_get_property (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                    "MaxBackgroundTransfers", NULL);
        g_assert_cmpuint (g_variant_get_uint32 (max), !=, 64);
        g_autoptr(GVariant) limit = bus_get_property (env->fx, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE,
                                                      "BackgroundBandwidthLimit", NULL);
        g_assert_cmpuint (g_variant_get_uint64 (limit), ==, 0);
        assert_targets_unchanged (t);
        assert_unchanged (t->before.b_dir, t->b_dir);
        g_assert_true (bus_client_lists_job (env->a, id));
}

/* Root may do all of it to A's job; files are still written as A. */
static void
test_root_allowed (XferdEnv *env)
{
        Targets *t = env->data;
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL, *id2 = NULL, *b_id = NULL, *a_dest = NULL;
        g_autofree char *root_added = g_build_filename (t->private_dir, "added-by-root.bin", NULL);
        g_autofree char *job = a_private_job (env, &id, &a_dest);
        g_autofree char *job2 = bus_client_create_job (env->a, "a-job-2", &id2);
        g_autofree char *b_job = bus_client_create_job (env->b, "b-job", &b_id);

        /* Sees every job everywhere. */
        g_assert_true (root_sees_job (env, job, id));
        g_assert_true (root_sees_job (env, job2, id2));
        g_assert_true (root_sees_job (env, b_job, b_id));
        g_autoptr(GVariant) got = bus_call_manager (env->fx, "GetJob", g_variant_new ("(s)", id),
                                                    G_VARIANT_TYPE ("(o)"), &error);
        g_assert_no_error (error);

        /* Reads and writes properties, lists files. */
        g_assert_cmpuint (job_get_uint32 (env->fx, job, "Owner"), ==, t->ua.uid);
        g_autoptr(GVariant) all = bus_call (env->fx, job, "org.freedesktop.DBus.Properties", "GetAll",
                                            g_variant_new ("(s)", XFERD_JOB_IFACE), G_VARIANT_TYPE ("(a{sv})"), &error);
        g_assert_no_error (error);
        job_set (env->fx, job, "DisplayName", g_variant_new_string ("renamed-by-root"));
        g_autofree char *name = client_job_string (env->a, job, "DisplayName");
        g_assert_cmpstr (name, ==, "renamed-by-root");
        g_autofree char *temp = xferd_temp_path (env->fx, job, 0);
        g_assert_true (g_str_has_prefix (temp, t->private_dir));

        /* Adds a file: it goes where A may write... */
        xferd_add_file (env->fx, job, env->url, root_added);
        /* ...and not where only root may: the owner's rights count, not the caller's. */
        g_autoptr(GVariant) refused = bus_call_job (env->fx, job, "AddFile",
                                                    g_variant_new ("(ss)", env->url, t->etc_new),
                                                    G_VARIANT_TYPE_UNIT, &error);
        bus_assert_error (error, XFERD_ERROR ("InvalidPath"));
        g_clear_error (&error);
        g_assert_false (g_file_test (t->etc_new, G_FILE_TEST_EXISTS));

        /* Suspend, Resume, Complete. */
        xferd_job_call (env->fx, job, "Resume");
        xferd_job_call (env->fx, job, "Suspend");
        job_wait_state (env->fx, job, "suspended");
        xferd_job_call (env->fx, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_assert_false (xferd_complete (env->fx, job));
        g_autofree char *state = client_job_string (env->a, job, "State");
        g_assert_cmpstr (state, ==, "acknowledged");
        /* The files are A's. */
        assert_file_content (a_dest, env->content);
        assert_file_content (root_added, env->content);
        assert_owned_regular (a_dest, &t->ua, 0644);
        assert_owned_regular (root_added, &t->ua, 0644);

        /* Cancels another of A's jobs and one of B's. */
        xferd_job_call (env->fx, job2, "Cancel");
        xferd_job_call (env->fx, b_job, "Cancel");
        g_autofree char *state2 = client_job_string (env->a, job2, "State");
        g_assert_cmpstr (state2, ==, "cancelled");

        /* Manager settings. */
        manager_set (env->fx, "MaxBackgroundTransfers", g_variant_new_uint32 (7));
}

/* The bus policy (data/org.xferd.Transfer1.conf, included as installed):
 * only root may own the name, so no user can stand in for xferd, before it
 * starts or while it runs, and collect the other users' calls. */
static void
test_name_owned_by_root_only (XferdEnv *env)
{
        g_autoptr(GError) error = NULL;

        BusClient *const clients[] = { env->a, env->b };
        /* Before xferd runs (nobody has called it yet), then while it runs. */
        for (guint round = 0; round < 2; round++) {
                for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
                        for (guint32 flags = 0; flags <= 6; flags += 2) {  /* none, REPLACE_EXISTING, DO_NOT_QUEUE */
                                g_test_message ("RequestName, flags %u, xferd %s", flags, round ? "running" : "not running");
                                g_autoptr(GError) e = NULL;
                                g_autoptr(GVariant) r = bus_client_call_to (clients[i], "org.freedesktop.DBus",
                                                                            "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                                                            "RequestName",
                                                                            g_variant_new ("(su)", XFERD_BUS_NAME, flags),
                                                                            G_VARIANT_TYPE ("(u)"), &e);
                                bus_assert_error (e, ACCESS_DENIED);
                        }
                if (round == 0) {
                        g_autoptr(GVariant) version = bus_get_property (env->fx, XFERD_MANAGER_PATH,
                                                                        XFERD_MANAGER_IFACE, "Version", &error);
                        g_assert_no_error (error);
                        bus_fixture_note_xferd (env->fx);
                }
        }
        /* The name is xferd's, running as root. */
        g_autoptr(GVariant) owner = bus_driver_call (env->fx, "GetConnectionUnixUser",
                                                     g_variant_new ("(s)", XFERD_BUS_NAME), G_VARIANT_TYPE ("(u)"),
                                                     &error);
        g_assert_no_error (error);
        guint32 uid;
        g_variant_get (owner, "(u)", &uid);
        g_assert_cmpuint (uid, ==, 0);
}

/* ------------------------------------------------------- file system */

/* B names A's private directory, A's home and /etc as destinations:
 * InvalidPath at once, nothing created or overwritten. */
static void
test_private_dir_and_etc (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *id = NULL;

        g_autofree char *job = bus_client_create_job (env->b, "b-job", &id);
        g_autofree char *in_private = g_build_filename (t->private_dir, "new.bin", NULL);
        g_autofree char *in_home = g_build_filename (t->ua.home, "xferd-test-new.bin", NULL);
        g_autofree char *in_private_sub = g_build_filename (t->private_dir, "sub", "new.bin", NULL);
        snapshots_take (t);

        const char *const targets[] = {
                in_private,             /* create in A's 0700 directory */
                t->secret_path,       /* overwrite A's file */
                in_private_sub,
                in_home,                /* A's home: 0755, but A's */
                t->etc_new,           /* create in /etc */
                t->etc_victim,        /* overwrite a file in /etc */
                "/etc/xferd.conf",
                NULL
        };
        for (guint i = 0; targets[i]; i++) {
                g_test_message ("target %s", targets[i]);
                assert_job_call_fails (env->b, job, "AddFile", g_variant_new ("(ss)", env->url, targets[i]),
                                       XFERD_ERROR ("InvalidPath"));
                assert_job_call_fails (env->b, job, "AddFiles",
                                       g_variant_new_parsed ("([(%s, %s)],)", env->url, targets[i]),
                                       XFERD_ERROR ("InvalidPath"));
                assert_call_fails (env->b, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "Download",
                                   g_variant_new ("(ssa{sv})", env->url, targets[i], NULL),
                                   XFERD_ERROR ("InvalidPath"));
        }
        /* All or nothing: a good file with a bad one adds neither. */
        g_autofree char *good = g_build_filename (t->b_dir, "good.bin", NULL);
        assert_job_call_fails (env->b, job, "AddFiles",
                               g_variant_new_parsed ("([(%s, %s), (%s, %s)],)", env->url, good, env->url, in_private),
                               XFERD_ERROR ("InvalidPath"));
        g_assert_cmpuint (client_job_uint32 (env->b, job, "FilesTotal"), ==, 0);

        /* Even once the job runs, nothing lands anywhere. */
        assert_job_call_fails (env->b, job, "Resume", NULL, XFERD_ERROR ("Empty"));
        assert_targets_unchanged (t);
        assert_unchanged (t->before.b_dir, t->b_dir);
        /* A's home is shared with other tests: nothing of xferd's there. */
        g_autofree char *made_in_home = xferd_names_in (t->ua.home, in_home);
        g_assert_cmpstr (made_in_home, ==, "");
}

/* B plants a symlink at the destination name, pointing at A's file (and at
 * a file in /etc): Complete replaces the link itself, the targets stay. */
static void
run_destination_symlink (XferdEnv *env, gboolean plant_during_transfer)
{
        Targets *t = env->data;
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL;

        g_autofree char *dest1 = g_build_filename (t->b_dir, "dest1.bin", NULL);
        g_autofree char *dest2 = g_build_filename (t->b_dir, "dest2.bin", NULL);
        g_autofree char *slow_url = http_server_url (env->http, "/slow.bin");
        g_autoptr(GBytes) slow = http_server_add_generated (env->http, "/slow.bin", SIZE);
        snapshots_take (t);

        if (!plant_during_transfer) {
                b_symlink (env, t->secret_path, dest1);
                b_symlink (env, t->etc_victim, dest2);
        } else
                http_server_stall_after (env->http, "/slow.bin", STALL);

        g_autofree char *job = bus_client_create_job (env->b, "b-job", &id);
        bus_client_add_file (env->b, job, slow_url, dest1);
        bus_client_add_file (env->b, job, env->url, dest2);
        bus_client_job_call (env->b, job, "Resume");
        if (plant_during_transfer) {
                g_autofree char *temp = bus_client_temp_path (env->b, job, 0);

                g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));
                b_symlink (env, t->secret_path, dest1);
                b_symlink (env, t->etc_victim, dest2);
                http_server_release (env->http, "/slow.bin");
        }
        job_wait_state (env->fx, job, "transferred");
        client_complete (env->b, job, &error);
        g_assert_no_error (error);

        /* The links were replaced by B's files; what they pointed at is untouched. */
        assert_file_content (dest1, slow);
        assert_file_content (dest2, env->content);
        assert_owned_regular (dest1, &t->ub, 0644);
        assert_owned_regular (dest2, &t->ub, 0644);
        assert_targets_unchanged (t);
}

static void
test_destination_symlink_before (XferdEnv *env)
{
        run_destination_symlink (env, FALSE);
}

static void
test_destination_symlink_during (XferdEnv *env)
{
        run_destination_symlink (env, TRUE);
}

/* B plants a symlink at the temporary file's name (ListFiles tells it) before
 * the transfer starts: xferd never follows it, not even into a file B may
 * write itself. It may take the name back (the link is replaced by a new
 * file, then Complete works) or fail the job with LocalFile; either way the
 * link's target is untouched. */
static void
test_temporary_symlink (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *id1 = NULL, *id2 = NULL;

        g_autofree char *dest1 = g_build_filename (t->b_dir, "t1.bin", NULL);
        g_autofree char *dest2 = g_build_filename (t->b_dir, "t2.bin", NULL);
        g_autofree char *planted = g_build_filename (t->private_dir, "planted.bin", NULL);
        g_autofree char *mine = g_build_filename (t->b_dir, "mine.txt", NULL);
        b_write (env, mine, "B's own file");
        g_autofree char *mine_before = snapshot (mine);
        snapshots_take (t);

        /* Into A's directory (a name that does not exist yet), and into B's own file. */
        g_autofree char *job1 = bus_client_create_job (env->b, "b-job-1", &id1);
        bus_client_add_file (env->b, job1, env->url, dest1);
        g_autofree char *temp1 = bus_client_temp_path (env->b, job1, 0);
        b_symlink (env, planted, temp1);
        g_autofree char *job2 = bus_client_create_job (env->b, "b-job-2", &id2);
        bus_client_add_file (env->b, job2, env->url, dest2);
        g_autofree char *temp2 = bus_client_temp_path (env->b, job2, 0);
        b_symlink (env, mine, temp2);

        const char *const jobs[] = { job1, job2, NULL };
        const char *const temps[] = { temp1, temp2, NULL };
        const char *const dests[] = { dest1, dest2, NULL };
        for (guint i = 0; jobs[i]; i++) {
                g_autoptr(GError) error = NULL;

                bus_client_job_call (env->b, jobs[i], "Resume");
                g_autofree char *state = job_wait_settled (env->fx, jobs[i]);
                assert_unchanged (mine_before, mine);
                assert_targets_unchanged (t);
                if (g_strcmp0 (state, "error") == 0) {
                        assert_job_string (env->fx, jobs[i], "ErrorName", XFERD_ERROR ("LocalFile"));
                        g_assert_false (g_file_test (dests[i], G_FILE_TEST_EXISTS));
                        bus_client_job_call (env->b, jobs[i], "Cancel");
                        continue;
                }
                g_assert_cmpstr (state, ==, "transferred");
                /* The link is gone; in its place, B's own partial file. */
                assert_owned_regular (temps[i], &t->ub, 0600);
                client_complete (env->b, jobs[i], &error);
                g_assert_no_error (error);
                assert_file_content (dests[i], env->content);
                assert_owned_regular (dests[i], &t->ub, 0644);
        }
        g_assert_false (g_file_test (planted, G_FILE_TEST_EXISTS));
        assert_unchanged (mine_before, mine);
        assert_targets_unchanged (t);
}

/* A directory in the path is B's symlink to A's private directory (or to
 * /etc): B could not write there, so AddFile refuses it. */
static void
test_directory_symlink_before (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *id = NULL;

        g_autofree char *to_private = g_build_filename (t->b_dir, "to-private", NULL);
        g_autofree char *to_etc = g_build_filename (t->b_dir, "to-etc", NULL);
        b_symlink (env, t->private_dir, to_private);
        b_symlink (env, "/etc", to_etc);
        g_autofree char *job = bus_client_create_job (env->b, "b-job", &id);
        snapshots_take (t);

        g_autofree char *victim_name = g_path_get_basename (t->etc_victim);
        g_autofree char *new_name = g_path_get_basename (t->etc_new);
        const char *const targets[][2] = {
                { to_private, "new.bin" },
                { to_private, "secret.txt" },
                { to_etc, new_name },
                { to_etc, victim_name },
        };
        for (guint i = 0; i < G_N_ELEMENTS (targets); i++) {
                g_autofree char *path = g_build_filename (targets[i][0], targets[i][1], NULL);

                g_test_message ("target %s", path);
                assert_job_call_fails (env->b, job, "AddFile", g_variant_new ("(ss)", env->url, path),
                                       XFERD_ERROR ("InvalidPath"));
                assert_call_fails (env->b, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "Download",
                                   g_variant_new ("(ssa{sv})", env->url, path, NULL), XFERD_ERROR ("InvalidPath"));
        }
        g_assert_cmpuint (client_job_uint32 (env->b, job, "FilesTotal"), ==, 0);
        assert_targets_unchanged (t);
        assert_unchanged (t->before.b_dir, t->b_dir);
}

/* B's job writes into B's directory sub (file.bin, then second.bin from second_url if not
 * NULL); while the first transfer runs, B swaps sub for a symlink to `target`. Returns the
 * job; the temporary file is then in sub.orig. */
static char *
start_and_swap_files (XferdEnv *env, Targets *t, const char *target, const char *second_url, char **out_temp)
{
        g_autofree char *sub = g_build_filename (t->b_dir, "sub", NULL);
        g_autofree char *orig = g_build_filename (t->b_dir, "sub.orig", NULL);
        g_autofree char *dest = g_build_filename (sub, "file.bin", NULL);
        g_autofree char *second = g_build_filename (sub, "second.bin", NULL);
        g_autofree char *url = http_server_url (env->http, "/slow.bin");
        g_autoptr(GBytes) slow = http_server_add_generated (env->http, "/slow.bin", SIZE);
        g_autofree char *id = NULL;

        b_mkdir (env, sub);
        http_server_stall_after (env->http, "/slow.bin", STALL);
        char *job = bus_client_create_job (env->b, "b-job", &id);
        bus_client_add_file (env->b, job, url, dest);
        if (second_url)
                bus_client_add_file (env->b, job, second_url, second);
        bus_client_job_call (env->b, job, "Resume");
        g_autofree char *temp = bus_client_temp_path (env->b, job, 0);
        g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));

        b_rename (env, sub, orig);
        b_symlink (env, target, sub);
        if (out_temp)
                *out_temp = g_path_get_basename (temp);
        return job;
}

static char *
start_and_swap (XferdEnv *env, Targets *t, const char *target, char **out_temp)
{
        return start_and_swap_files (env, t, target, NULL, out_temp);
}

/* Ends a swapped job's transfer and asserts that it did not finish through
 * the link: either the transfer fails with LocalFile, or it reaches
 * transferred and Complete fails with CompleteFailed (and the job stays
 * transferred). Returns the state the job is in. */
static char *
finish_swapped (XferdEnv *env, const char *job)
{
        g_autoptr(GError) error = NULL;

        http_server_release (env->http, "/slow.bin");
        g_autofree char *state = job_wait_settled (env->fx, job);
        if (g_strcmp0 (state, "error") == 0) {
                assert_job_string (env->fx, job, "ErrorName", XFERD_ERROR ("LocalFile"));
                return g_steal_pointer (&state);
        }
        g_assert_cmpstr (state, ==, "transferred");
        client_complete (env->b, job, &error);
        bus_assert_error (error, XFERD_ERROR ("CompleteFailed"));
        g_free (state);
        state = job_get_string (env->fx, job, "State");
        g_assert_cmpstr (state, ==, "transferred");
        return g_steal_pointer (&state);
}

/* The swap points at A's private directory, where A has a file of the same
 * name: it is neither overwritten nor joined by anything. */
static void
test_directory_swap_to_private (XferdEnv *env)
{
        Targets *t = env->data;

        g_autofree char *a_file = g_build_filename (t->private_dir, "file.bin", NULL);
        write_owned (a_file, "A's file.bin", &t->ua, 0644);
        snapshots_take (t);

        g_autofree char *job = start_and_swap (env, t, t->private_dir, NULL);
        g_autofree char *state = finish_swapped (env, job);
        assert_targets_unchanged (t);

        bus_client_job_call (env->b, job, "Cancel");
        assert_targets_unchanged (t);
}

/* The swap points at another directory of B's, which B may write: still no
 * rename there, since it is not the directory AddFile checked (st_dev,
 * st_ino). Once B puts the directory back, Complete goes on. */
static void
test_directory_swap_to_own (XferdEnv *env)
{
        Targets *t = env->data;
        g_autoptr(GError) error = NULL;

        g_autofree char *other = g_build_filename (t->b_dir, "other", NULL);
        g_autofree char *sub = g_build_filename (t->b_dir, "sub", NULL);
        g_autofree char *orig = g_build_filename (t->b_dir, "sub.orig", NULL);
        b_mkdir (env, other);
        g_autofree char *other_before = snapshot (other);

        g_autofree char *job = start_and_swap (env, t, other, NULL);
        g_autofree char *state = finish_swapped (env, job);
        assert_unchanged (other_before, other);
        if (g_strcmp0 (state, "transferred") != 0)
                return;

        /* Back to the directory the job holds: Complete succeeds. */
        run_as (env, USER_B, (const char *const[]) { "rm", sub, NULL });
        b_rename (env, orig, sub);
        client_complete (env->b, job, &error);
        g_assert_no_error (error);
        g_autofree char *dest = g_build_filename (sub, "file.bin", NULL);
        g_assert_true (wait_file_size (dest, SIZE, 0));
        assert_owned_regular (dest, &t->ub, 0644);
        assert_unchanged (other_before, other);
}

/* A job of two files whose directory B swaps for a link to another of B's directories while
 * the first file transfers: the second file's temporary file is made neither through the link
 * nor in the directory moved away, which the job kept open for its files: the job ends in
 * LocalFile, the other directory is untouched, and the one moved away holds the first file's
 * temporary file alone. */
static void
test_directory_swap_between_files (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *other = g_build_filename (t->b_dir, "other", NULL);
        g_autofree char *orig = g_build_filename (t->b_dir, "sub.orig", NULL);
        g_autofree char *fast_url = http_server_url (env->http, "/fast.bin");
        g_autoptr(GBytes) fast = http_server_add_generated (env->http, "/fast.bin", SIZE);
        g_autofree char *temp_name = NULL;

        b_mkdir (env, other);
        g_autofree char *other_before = snapshot (other);
        g_autofree char *job = start_and_swap_files (env, t, other, fast_url, &temp_name);
        http_server_release (env->http, "/slow.bin");
        g_autofree char *state = job_wait_settled (env->fx, job);
        g_assert_cmpstr (state, ==, "error");
        assert_job_string (env->fx, job, "ErrorName", XFERD_ERROR ("LocalFile"));
        assert_unchanged (other_before, other);

        g_autoptr(GDir) dir = g_dir_open (orig, 0, NULL);
        g_assert_nonnull (dir);
        g_assert_cmpstr (g_dir_read_name (dir), ==, temp_name);
        g_assert_null (g_dir_read_name (dir));
}

/* Deleting through a swapped directory: Cancel must not unlink the name of
 * its temporary file in the directory the link points to, be it A's (A has a
 * file of that very name) or B's own. */
static void
test_directory_swap_cancel (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *temp_name = NULL;

        /* The temporary name is predictable from ListFiles; learn it first. */
        g_autofree char *job = start_and_swap (env, t, t->private_dir, &temp_name);
        g_autofree char *decoy = g_build_filename (t->private_dir, temp_name, NULL);
        write_owned (decoy, "A's file that happens to have that name", &t->ua, 0600);
        snapshots_take (t);

        bus_client_job_call (env->b, job, "Cancel");
        assert_targets_unchanged (t);
        http_server_release (env->http, "/slow.bin");
        assert_targets_unchanged (t);

        /* The directory the file was made in is not at its path any more: xferd says so once
         * and does not keep retrying an unlink that can never reach it (which would also keep
         * it from ever exiting when idle). The unlink's worker logs that after the loop's
         * "Cancelled.", and the log reaches the test through a pipe: wait for the line itself. */
        g_autofree char *log =
                bus_fixture_wait_xferd_log (env->fx, "no longer reachable by its path", WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
        g_assert_nonnull (strstr (log, "Cancelled."));
        g_assert_null (strstr (log, "will try again"));
}

static void
test_directory_swap_cancel_own (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *temp_name = NULL;

        g_autofree char *other = g_build_filename (t->b_dir, "other", NULL);
        b_mkdir (env, other);
        g_autofree char *job = start_and_swap (env, t, other, &temp_name);
        g_autofree char *decoy = g_build_filename (other, temp_name, NULL);
        b_write (env, decoy, "B's file that happens to have that name");
        g_autofree char *other_before = snapshot (other);

        bus_client_job_call (env->b, job, "Cancel");
        assert_unchanged (other_before, other);
        http_server_release (env->http, "/slow.bin");
}

/* Temporary files belong to the job's owner (uid and primary group), mode
 * 0600 while partial; the final file too, 0644. */
static void
run_temporary_owner (XferdEnv *env, BusClient *client, const TestUser *u, const char *dir)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dest = g_build_filename (dir, "owned.bin", NULL);
        g_autofree char *url = http_server_url (env->http, "/slow.bin");
        g_autoptr(GBytes) slow = http_server_add_generated (env->http, "/slow.bin", SIZE);
        g_autofree char *id = NULL;

        http_server_stall_after (env->http, "/slow.bin", STALL);
        g_autofree char *job = bus_client_create_job (client, "owned", &id);
        bus_client_add_file (client, job, url, dest);
        bus_client_job_call (client, job, "Resume");
        g_autofree char *temp = bus_client_temp_path (client, job, 0);
        g_assert_true (wait_file_size (temp, STALL, WAIT_TIMEOUT_MS));
        assert_owned_regular (temp, u, 0600);

        http_server_release (env->http, "/slow.bin");
        job_wait_state (env->fx, job, "transferred");
        assert_owned_regular (temp, u, 0600);
        client_complete (client, job, &error);
        g_assert_no_error (error);
        assert_owned_regular (dest, u, 0644);
        assert_file_content (dest, slow);
}

static void
test_temporary_owner (XferdEnv *env)
{
        Targets *t = env->data;
        run_temporary_owner (env, env->a, &t->ua, t->private_dir);
        run_temporary_owner (env, env->b, &t->ub, t->b_dir);
}

/* Whether every directory above path lets others (A, B) through; logs the first that does not. */
static gboolean
others_reach (const char *path)
{
        g_autofree char *dir = g_path_get_dirname (path);

        for (;;) {
                struct stat st;

                g_assert_no_errno (stat (dir, &st));
                if (!(st.st_mode & S_IXOTH)) {
                        g_test_message ("%s (mode %04o) does not let other users through", dir,
                                        (guint) (st.st_mode & 07777));
                        return FALSE;
                }
                if (strcmp (dir, "/") == 0)
                        return TRUE;
                char *parent = g_path_get_dirname (dir);
                g_free (dir);
                dir = parent;
        }
}

/* A directory of root's that only its group may write (0770), a group A is in beside its own:
 * A's download lands there, A's, since the groups of A's call go with every file operation of
 * the job; B's AddFile is refused and nothing of B's is made. It fails when the daemon drops
 * the supplementary groups, as the 16-bit setgroups did on 32-bit x86 and ARM; on x86-64 the
 * call is the same before and after that fix, so only a build for those machines runs the
 * case the fix is for. The directory is in the fixture's own (0755, which the users reach), and
 * goes with it. */
static void
test_group_dir (XferdEnv *env)
{
        Targets *t = env->data;
        struct group *g = getgrnam (GROUP_G);
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_build_filename (env->fx->tmpdir, "group", NULL);
        g_autofree char *a_id = NULL, *b_id = NULL;

        if (!g || !g_strv_contains ((const char *const *) g->gr_mem, USER_A)) {
                (void) test_needs ("the group " GROUP_G " with " USER_A " in it (scripts/test.sh makes it)");
                return;
        }
        g_assert_true (others_reach (dir));
        g_assert_no_errno (g_mkdir (dir, 0700));
        g_assert_no_errno (chown (dir, 0, g->gr_gid));
        g_assert_no_errno (chmod (dir, 0770));
        g_autofree char *dest = g_build_filename (dir, "a.bin", NULL);

        g_autofree char *b_job = bus_client_create_job (env->b, "b-group", &b_id);
        assert_job_call_fails (env->b, b_job, "AddFile", g_variant_new ("(ss)", env->url, dest),
                               XFERD_ERROR ("InvalidPath"));
        g_autofree char *a_job = bus_client_create_job (env->a, "a-group", &a_id);
        bus_client_add_file (env->a, a_job, env->url, dest);
        bus_client_job_call (env->a, a_job, "Resume");
        job_wait_state (env->fx, a_job, "transferred");
        client_complete (env->a, a_job, &error);
        g_assert_no_error (error);
        assert_owned_regular (dest, &t->ua, 0644);
        g_autofree char *left = xferd_names_in (dir, NULL);
        g_assert_cmpstr (left, ==, "");
        g_assert_no_errno (unlink (dest));
        g_assert_no_errno (rmdir (dir));
}

/* --------------------------------------------------------- protocols */

/* Only http and https: every other scheme curl knows is refused at AddFile
 * and Download, nothing is written. */
static void
test_refused_schemes (XferdEnv *env)
{
        Targets *t = env->data;
        g_autofree char *id = NULL;

        g_autofree char *dest = g_build_filename (t->b_dir, "out.bin", NULL);
        g_autofree char *job = bus_client_create_job (env->b, "b-job", &id);
        snapshots_take (t);
        static const char *const urls[] = {
                "file:///etc/passwd", "FILE:///etc/shadow", "file://localhost/etc/passwd",
                "ftp://127.0.0.1/x", "ftps://127.0.0.1/x", "scp://127.0.0.1/etc/passwd",
                "sftp://127.0.0.1/etc/passwd", "dict://127.0.0.1/d:x", "gopher://127.0.0.1/x",
                "tftp://127.0.0.1/x", "telnet://127.0.0.1/", "ldap://127.0.0.1/", "smb://127.0.0.1/x/y",
                "imap://127.0.0.1/", "smtp://127.0.0.1/", "mqtt://127.0.0.1/x", "rtsp://127.0.0.1/x",
                NULL
        };

        for (guint i = 0; urls[i]; i++) {
                g_test_message ("URL %s", urls[i]);
                assert_job_call_fails (env->b, job, "AddFile", g_variant_new ("(ss)", urls[i], dest),
                                       XFERD_ERROR ("UnsupportedProtocol"));
                assert_call_fails (env->b, XFERD_MANAGER_PATH, XFERD_MANAGER_IFACE, "Download",
                                   g_variant_new ("(ssa{sv})", urls[i], dest, NULL),
                                   XFERD_ERROR ("UnsupportedProtocol"));
                /* Root is held to the same rule. */
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) reply = bus_call_job (env->fx, job, "AddFile", g_variant_new ("(ss)", urls[i], dest),
                                                          G_VARIANT_TYPE_UNIT, &error);
                bus_assert_error (error, XFERD_ERROR ("UnsupportedProtocol"));
        }
        g_assert_cmpuint (client_job_uint32 (env->b, job, "FilesTotal"), ==, 0);
        assert_unchanged (t->before.b_dir, t->b_dir);
        assert_targets_unchanged (t);
}

/* An http URL whose server redirects to file:// (or another scheme): the job
 * fails with UnsupportedProtocol and no byte of the target is written. */
static void
test_redirect_to_file (XferdEnv *env)
{
        Targets *t = env->data;

        g_autofree char *secret_url = g_strconcat ("file://", t->secret_path, NULL);
        const char *const locations[] = {
                "file:///etc/passwd", secret_url, "ftp://127.0.0.1/x", "dict://127.0.0.1/d:x", NULL
        };
        snapshots_take (t);

        for (guint i = 0; locations[i]; i++) {
                g_autofree char *path = g_strdup_printf ("/redirect-%u", i);
                g_autofree char *url = http_server_url (env->http, path);
                g_autofree char *name = g_strdup_printf ("out-%u.bin", i);
                g_autofree char *dest = g_build_filename (t->b_dir, name, NULL);
                g_autofree char *id = NULL;

                g_test_message ("redirect to %s", locations[i]);
                http_server_redirect (env->http, path, 302, locations[i]);
                g_autofree char *job = bus_client_create_job (env->b, "b-job", &id);
                bus_client_add_file (env->b, job, url, dest);
                bus_client_job_call (env->b, job, "Resume");
                job_wait_state (env->fx, job, "error");
                assert_job_string (env->fx, job, "ErrorName", XFERD_ERROR ("UnsupportedProtocol"));
                g_assert_cmpuint (job_get_uint64 (env->fx, job, "BytesTransferred"), ==, 0);
                g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
                /* A temporary file, if there is one, is empty. */
                g_autofree char *temp = bus_client_temp_path (env->b, job, 0);
                GStatBuf st;
                if (g_lstat (temp, &st) == 0)
                        g_assert_cmpint (st.st_size, ==, 0);
                bus_client_job_call (env->b, job, "Cancel");
        }
        assert_unchanged (t->before.b_dir, t->b_dir);
        assert_targets_unchanged (t);
}

/* ------------------------------------------------------------ limits */

static void
add_files_expect (BusClient *client, BusFixture *fx, const char *job, const char *dir, guint from, guint n,
                  const char *error_name)
{
        g_autoptr(GError) error = NULL;
        GVariantBuilder files;

        g_variant_builder_init (&files, G_VARIANT_TYPE ("a(ss)"));
        for (guint i = from; i < from + n; i++) {
                g_autofree char *name = g_strdup_printf ("f%03u.bin", i);
                g_autofree char *path = g_build_filename (dir, name, NULL);
                g_autofree char *url = g_strdup_printf ("http://127.0.0.1:1/%s", name);

                g_variant_builder_add (&files, "(ss)", url, path);
        }
        GVariant *params = g_variant_new ("(a(ss))", &files);
        g_autoptr(GVariant) reply = client ? bus_client_call_job (client, job, "AddFiles", params, G_VARIANT_TYPE_UNIT, &error)
                                           : bus_call_job (fx, job, "AddFiles", params, G_VARIANT_TYPE_UNIT, &error);
        if (error_name)
                bus_assert_error (error, error_name);
        else
                g_assert_no_error (error);
}

static char *
create_job_expect (BusClient *client, BusFixture *fx, const char *error_name)
{
        g_autoptr(GError) error = NULL;
        GVariant *params = g_variant_new ("(sa{sv})", "limited", NULL);
        g_autoptr(GVariant) reply = client ? bus_client_call_manager (client, "CreateJob", params, G_VARIANT_TYPE ("(so)"), &error)
                                           : bus_call_manager (fx, "CreateJob", params, G_VARIANT_TYPE ("(so)"), &error);
        const char *path;

        if (error_name) {
                bus_assert_error (error, error_name);
                return NULL;
        }
        g_assert_no_error (error);
        g_variant_get (reply, "(&s&o)", NULL, &path);
        return g_strdup (path);
}

static void
check_limits (XferdEnv *env, Targets *t, guint per_user, guint machine, guint files)
{
        g_autoptr(GPtrArray) a_jobs = g_ptr_array_new_with_free_func (g_free);
        g_autofree char *root_dir = g_build_filename (env->fx->tmpdir, "root", NULL);

        g_assert_no_errno (g_mkdir (root_dir, 0755));
        snapshots_take (t);

        /* Jobs per user: A's (per_user + 1)th is refused, B still has its own quota. */
        for (guint i = 0; i < per_user; i++)
                g_ptr_array_add (a_jobs, create_job_expect (env->a, NULL, NULL));
        g_free (create_job_expect (env->a, NULL, XFERD_ERROR ("TooManyJobs")));
        /* A final job does not count. */
        g_autofree char *first = g_strdup (g_ptr_array_index (a_jobs, 0));
        bus_client_job_call (env->a, first, "Cancel");
        g_free (g_ptr_array_steal_index (a_jobs, 0));
        g_ptr_array_add (a_jobs, create_job_expect (env->a, NULL, NULL));
        g_free (create_job_expect (env->a, NULL, XFERD_ERROR ("TooManyJobs")));

        /* Jobs per machine (when B's own quota does not stop it first): B may
         * fill what is left, then no more. */
        if (machine - per_user < per_user) {
                for (guint i = per_user; i < machine; i++)
                        g_free (create_job_expect (env->b, NULL, NULL));
                g_free (create_job_expect (env->b, NULL, XFERD_ERROR ("TooManyJobs")));
        }

        /* Files per job: (files + 1)th refused one by one and in a batch; all or nothing. */
        const char *job = g_ptr_array_index (a_jobs, 0);
        add_files_expect (env->a, NULL, job, t->private_dir, 0, files, NULL);
        add_files_expect (env->a, NULL, job, t->private_dir, files, 1, XFERD_ERROR ("TooManyFiles"));
        g_autofree char *extra = g_build_filename (t->private_dir, "extra.bin", NULL);
        assert_job_call_fails (env->a, job, "AddFile", g_variant_new ("(ss)", env->url, extra), XFERD_ERROR ("TooManyFiles"));
        g_assert_cmpuint (client_job_uint32 (env->a, job, "FilesTotal"), ==, files);
        const char *job2 = g_ptr_array_index (a_jobs, 1);
        add_files_expect (env->a, NULL, job2, t->private_dir, 0, files + 1, XFERD_ERROR ("TooManyFiles"));
        g_assert_cmpuint (client_job_uint32 (env->a, job2, "FilesTotal"), ==, 0);

        /* Root is exempt from all three. */
        g_autoptr(GPtrArray) root_jobs = g_ptr_array_new_with_free_func (g_free);
        for (guint i = 0; i < per_user + 1; i++)
                g_ptr_array_add (root_jobs, create_job_expect (NULL, env->fx, NULL));
        const char *root_job = g_ptr_array_index (root_jobs, 0);
        add_files_expect (NULL, env->fx, root_job, root_dir, 0, files + 1, NULL);
        g_assert_cmpuint (job_get_uint32 (env->fx, root_job, "FilesTotal"), ==, files + 1);

        /* No file was made by any of it. */
        assert_targets_unchanged (t);
        assert_unchanged (t->before.b_dir, t->b_dir);
        g_auto(GStrv) in_root_dir = list_dir (root_dir);
        g_assert_cmpuint (g_strv_length (in_root_dir), ==, 0);
}

static const BusFixtureOptions limits_small_options = {
        .system_bus = TRUE,
        .config = "[Daemon]\nMaxJobsPerUser=3\nMaxJobs=5\nMaxFilesPerJob=4\n",
};

static void
test_limits_small (XferdEnv *env)
{
        check_limits (env, env->data, 3, 5, 4);
}

static const BusFixtureOptions limits_retained_options = {
        .system_bus = TRUE,
        .config = "[Daemon]\nMaxJobsPerUser=3\n",
};

/* Final job objects are bounded per user too: creating and cancelling in a loop does not
 * pile up retained objects; the user's oldest goes first (root is exempt). */
static void
test_limits_retained (XferdEnv *env)
{
        g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; i < 5; i++) {
                g_ptr_array_add (jobs, bus_client_create_job (env->a, "churn", NULL));
                bus_client_job_call (env->a, g_ptr_array_index (jobs, i), "Cancel");
        }
        /* The three newest still answer with their final state; the two oldest are gone. */
        for (guint i = 0; i < jobs->len; i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) v = bus_client_get_property (env->a, g_ptr_array_index (jobs, i),
                                                                 XFERD_JOB_IFACE, "State", &error);
                if (i < 2)
                        bus_assert_error (error, "org.freedesktop.DBus.Error.UnknownObject");
                else {
                        g_assert_no_error (error);
                        g_assert_cmpstr (g_variant_get_string (v, NULL), ==, "cancelled");
                }
        }
}

/* The defaults of the contract: 60 jobs per user, 300 per machine (not
 * reached here), 200 files per job. */
static void
test_limits_default (XferdEnv *env)
{
        check_limits (env, env->data, 60, 300, 200);
}

/* ----------------------------------------------------------- privacy */

static void
assert_text_free_of (const char *what, const char *text, const char *const *secrets)
{
        for (guint i = 0; secrets[i]; i++)
                if (strstr (text, secrets[i])) {
                        g_test_message ("%s contains '%s': %s", what, secrets[i], text);
                        g_assert_null (strstr (text, secrets[i]));
                }
}

static guint
count_signals (GVariant *signals, const char *path, const char *member)
{
        guint n = 0;

        for (gsize i = 0; i < g_variant_n_children (signals); i++) {
                const char *spath, *smember;

                g_variant_get_child (signals, i, "(&s&s&s&sv)", NULL, &spath, NULL, &smember, NULL);
                if ((!path || strcmp (spath, path) == 0) && strcmp (smember, member) == 0)
                        n++;
        }
        return n;
}

static gboolean
signal_mentions_job (GVariant *signals, const char *member, const char *id)
{
        for (gsize i = 0; i < g_variant_n_children (signals); i++) {
                g_autoptr(GVariant) params = NULL;
                const char *smember;

                g_variant_get_child (signals, i, "(&s&s&s&sv)", NULL, NULL, NULL, &smember, &params);
                g_autofree char *text = g_variant_print (params, FALSE);
                if (strcmp (smember, member) == 0 && strstr (text, id))
                        return TRUE;
        }
        return FALSE;
}

/* B listens to every signal it may receive (a plain match rule) while A
 * works with secret names, URLs, paths and headers: none of them reaches B,
 * though B sees that the jobs exist and change state. */
static void
test_signals_carry_no_secrets (XferdEnv *env)
{
        Targets *t = env->data;
        g_autoptr(GError) error = NULL;
        g_autofree char *id1 = NULL, *id2 = NULL, *id3 = NULL;

        g_autoptr(GBytes) secret_body = http_server_add_generated (env->http, "/secret-url-path-5e6f.bin", SIZE);
        g_autofree char *secret_url = http_server_url (env->http, "/secret-url-path-5e6f.bin");
        g_autofree char *missing_url = http_server_url (env->http, "/secret-missing-path-7a8b.bin");
        g_autofree char *dest1 = g_build_filename (t->private_dir, "secret-file-name-1c2d.bin", NULL);
        g_autofree char *dest2 = g_build_filename (t->private_dir, "secret-file-name-3e4f.bin", NULL);
        g_autofree char *dest3 = g_build_filename (t->private_dir, "secret-file-name-9a0b.bin", NULL);
        const char *const secrets[] = {
                "secret-display-name-ab12", "secret-description-cd34", "secret-renamed-ef56",
                "secret-url-path-5e6f", "secret-missing-path-7a8b", "secret-file-name",
                "secret-header-value-0f1e", "X-Secret-Header", t->private_dir, "secret-dl-name-2b3c",
                NULL
        };

        bus_client_subscribe (env->b);

        /* A job that transfers and is completed, renamed on the way. */
        g_autofree char *job1 = bus_client_make_job (env->a, "CreateJob",
                g_variant_new_parsed ("(%s, {'description': <%s>})", "secret-display-name-ab12",
                                      "secret-description-cd34"),
                &id1);
        g_autoptr(GVariant) h = bus_client_call_job (env->a, job1, "SetHttpHeaders",
                                                     g_variant_new_parsed ("(['X-Secret-Header: secret-header-value-0f1e'],)"),
                                                     G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        bus_client_add_file (env->a, job1, secret_url, dest1);
        g_assert_true (bus_client_set_property (env->a, job1, XFERD_JOB_IFACE, "DisplayName",
                                                g_variant_new_string ("secret-renamed-ef56"), &error));
        g_assert_no_error (error);
        g_assert_true (bus_client_set_property (env->a, job1, XFERD_JOB_IFACE, "Description",
                                                g_variant_new_string ("secret-description-cd34 again"), &error));
        g_assert_no_error (error);
        bus_client_job_call (env->a, job1, "Resume");
        job_wait_state (env->fx, job1, "transferred");
        client_complete (env->a, job1, &error);
        g_assert_no_error (error);

        /* A job that fails (HTTP 404: the message names the URL) and is cancelled. */
        g_autofree char *job2 = bus_client_create_job (env->a, "secret-display-name-ab12", &id2);
        bus_client_add_file (env->a, job2, missing_url, dest2);
        bus_client_job_call (env->a, job2, "Resume");
        job_wait_state (env->fx, job2, "error");
        g_autofree char *message = job_get_string (env->fx, job2, "ErrorMessage");
        g_test_message ("ErrorMessage (for the owner only): %s", message);
        bus_client_job_call (env->a, job2, "Cancel");

        /* A Download with a display name, completing by itself. */
        g_free (bus_client_make_job (env->a, "Download",
                g_variant_new_parsed ("(%s, %s, {'display-name': <%s>})", secret_url, dest3, "secret-dl-name-2b3c"),
                &id3));
        assert_job_removed (env->fx, id3, "acknowledged");
        assert_file_content (dest3, secret_body);

        /* What B received. */
        g_autoptr(GVariant) signals = bus_client_signals (env->b);
        g_test_message ("B received %" G_GSIZE_FORMAT " signals", g_variant_n_children (signals));
        for (gsize i = 0; i < g_variant_n_children (signals); i++) {
                g_autoptr(GVariant) sig = g_variant_get_child_value (signals, i);
                g_autofree char *text = g_variant_print (sig, FALSE);
                assert_text_free_of ("a signal B received", text, secrets);
        }
        /* B did listen: it saw the jobs come, change and go. */
        g_assert_true (signal_mentions_job (signals, "JobNew", id1));
        g_assert_true (signal_mentions_job (signals, "InterfacesAdded", id1));
        g_assert_true (signal_mentions_job (signals, "JobRemoved", id1));
        g_assert_true (signal_mentions_job (signals, "JobRemoved", id2));
        g_assert_true (signal_mentions_job (signals, "JobNew", id3));
        g_assert_cmpuint (count_signals (signals, job1, "PropertiesChanged"), >, 0);
        g_assert_cmpuint (count_signals (signals, job2, "Failed"), ==, 1);

        /* The same holds for every broadcast root's connection recorded. */
        bus_count_signals (env->fx, NULL, NULL, NULL, NULL, NULL);
        for (guint i = 0; i < env->fx->signals->len; i++) {
                const RecordedSignal *sig = g_ptr_array_index (env->fx->signals, i);
                g_autofree char *text = g_variant_print (sig->params, FALSE);
                assert_text_free_of (sig->member, text, secrets);
        }
}

/* SetHttpHeaders values go to the server and nowhere else: not in any
 * property (HttpHeaderNames has the names), not in the log; they are stored
 * in a state directory (0700) and database (0600) only root can read. */
static void
test_headers_stay_secret (XferdEnv *env)
{
        Targets *t = env->data;
        g_autoptr(GError) error = NULL;
        g_autofree char *id = NULL;

        const char *const secrets[] = { "hdr-secret-value-1a2b", "hdr-secret-key-3c4d", NULL };
        g_autofree char *dest = g_build_filename (t->private_dir, "h.bin", NULL);
        g_autofree char *job = bus_client_create_job (env->a, "headers", &id);
        g_autoptr(GVariant) h = bus_client_call_job (env->a, job, "SetHttpHeaders",
                g_variant_new_parsed ("(['Authorization: Bearer hdr-secret-value-1a2b', 'X-Api-Key: hdr-secret-key-3c4d'],)"),
                G_VARIANT_TYPE_UNIT, &error);
        g_assert_no_error (error);
        bus_client_add_file (env->a, job, env->url, dest);

        /* Names only. */
        g_autoptr(GVariant) names = bus_client_get_property (env->a, job, XFERD_JOB_IFACE, "HttpHeaderNames", &error);
        g_assert_no_error (error);
        g_autofree char *names_text = g_variant_print (names, FALSE);
        g_assert_cmpstr (names_text, ==, "['Authorization', 'X-Api-Key']");
        /* Every property, as the owner and as root; the files; the introspection. */
        g_autoptr(GVariant) all_a = bus_client_call (env->a, job, "org.freedesktop.DBus.Properties", "GetAll",
                                                     g_variant_new ("(s)", XFERD_JOB_IFACE), NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) all_root = bus_call (env->fx, job, "org.freedesktop.DBus.Properties", "GetAll",
                                                 g_variant_new ("(s)", XFERD_JOB_IFACE), NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) files = bus_client_call_job (env->a, job, "ListFiles", NULL, NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) xml = bus_client_call (env->a, job, "org.freedesktop.DBus.Introspectable", "Introspect",
                                                   NULL, NULL, &error);
        g_assert_no_error (error);
        g_autoptr(GVariant) managed = bus_client_call (env->a, XFERD_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                                       "GetManagedObjects", NULL, NULL, &error);
        g_assert_no_error (error);
        GVariant *const replies[] = { all_a, all_root, files, xml, managed };
        for (guint i = 0; i < G_N_ELEMENTS (replies); i++) {
                g_autofree char *text = g_variant_print (replies[i], FALSE);
                assert_text_free_of ("a reply", text, secrets);
        }

        /* They do reach the server. */
        bus_client_job_call (env->a, job, "Resume");
        job_wait_state (env->fx, job, "transferred");
        g_autofree char *sent = http_server_last_header (env->http, "/file.bin", "Authorization");
        g_assert_cmpstr (sent, ==, "Bearer hdr-secret-value-1a2b");
        client_complete (env->a, job, &error);
        g_assert_no_error (error);

        /* Not in the log (debug level), which does tell about the job. */
        g_autofree char *log = bus_fixture_wait_xferd_log (env->fx, "Completed", WAIT_TIMEOUT_MS);
        g_assert_nonnull (log);
        g_assert_nonnull (strstr (log, id));
        assert_text_free_of ("xferd's log", log, secrets);

        /* The store: root's alone. */
        GStatBuf st;
        g_assert_no_errno (g_lstat (env->fx->state_dir, &st));
        g_assert_true (S_ISDIR (st.st_mode));
        g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
        g_assert_cmpuint (st.st_uid, ==, 0);
        g_auto(GStrv) entries = list_dir (env->fx->state_dir);
        gboolean has_db = FALSE;
        for (guint i = 0; entries[i]; i++) {
                g_autofree char *path = g_build_filename (env->fx->state_dir, entries[i], NULL);

                g_assert_no_errno (g_lstat (path, &st));
                g_test_message ("%s: %04o uid %u", path, (guint) (st.st_mode & 07777), (guint) st.st_uid);
                g_assert_cmpuint (st.st_uid, ==, 0);
                if (S_ISREG (st.st_mode)) {
                        g_assert_cmpuint (st.st_mode & 07777, ==, 0600);
                        if (g_str_has_suffix (entries[i], ".db") || strstr (entries[i], ".db"))
                                has_db = TRUE;
                } else
                        g_assert_cmpuint (st.st_mode & 077, ==, 0);
                /* Neither user can read it. */
                g_assert_cmpint (bus_fixture_run_as (env->fx, USER_A,
                                                     (const char *const[]) { "cat", path, NULL }, NULL, NULL), !=, 0);
        }
        g_assert_true (has_db);
}

static const XferdEnvCase env_cases[] = {
        { "/multiuser/limits/small", test_limits_small, &limits_small_options },
        { "/multiuser/limits/default", test_limits_default, NULL },
        { "/multiuser/limits/retained", test_limits_retained, &limits_retained_options },
        { "/multiuser/access/other-user-denied", test_other_user_denied, NULL },
        { "/multiuser/access/root-allowed", test_root_allowed, NULL },
        { "/multiuser/access/list-own-order", test_list_own_order, NULL },
        { "/multiuser/access/name-owned-by-root-only", test_name_owned_by_root_only, NULL },
        { "/multiuser/files/private-dir-and-etc", test_private_dir_and_etc, NULL },
        { "/multiuser/files/destination-symlink-before", test_destination_symlink_before, NULL },
        { "/multiuser/files/destination-symlink-during", test_destination_symlink_during, NULL },
        { "/multiuser/files/temporary-symlink", test_temporary_symlink, NULL },
        { "/multiuser/files/directory-symlink-before", test_directory_symlink_before, NULL },
        { "/multiuser/files/directory-swap-to-private", test_directory_swap_to_private, NULL },
        { "/multiuser/files/directory-swap-to-own", test_directory_swap_to_own, NULL },
        { "/multiuser/files/directory-swap-between-files", test_directory_swap_between_files, NULL },
        { "/multiuser/files/directory-swap-cancel", test_directory_swap_cancel, NULL },
        { "/multiuser/files/directory-swap-cancel-own", test_directory_swap_cancel_own, NULL },
        { "/multiuser/files/temporary-owner", test_temporary_owner, NULL },
        { "/multiuser/files/group-dir", test_group_dir, NULL },
        { "/multiuser/protocols/refused-schemes", test_refused_schemes, NULL },
        { "/multiuser/protocols/redirect-to-file", test_redirect_to_file, NULL },
        { "/multiuser/privacy/signals", test_signals_carry_no_secrets, NULL },
        { "/multiuser/privacy/headers", test_headers_stay_secret, NULL },
        { NULL, NULL, NULL }
};

const XferdEnvCases test_env_cases = { multiuser_env_make, env_cases };
