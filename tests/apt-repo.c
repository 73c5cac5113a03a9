/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The repository and apt roots of the apt tests: see apt-repo.h. */
#include "apt-repo.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "peer.h"

#define KEY_UID "xferd apt test <apt-test@xferd.invalid>"

static const struct {
        const char *name;
        const char *version;
} packages[] = {
        { "tiny-a", "1.0" },
        { "tiny-b", "2.0" },
        { "tiny-bad", "1.0" },
        { "tiny-gone", "1.0" },
        { "big", "1.0" },
};

uid_t
apt_user_uid (void)
{
        struct passwd *pw = getpwnam ("_apt");

        g_assert_nonnull (pw);
        return pw->pw_uid;
}

const char *
apt_repo_missing (void)
{
        static const char *const tools[] = { "apt-get", "apt-ftparchive", "dpkg-deb", "gpg", "gpgv", "setsid" };
        const char *method = g_getenv ("XFERD_APT_METHOD");

        if (geteuid () != 0)
                return "root (apt-get runs as root and drops to _apt)";
        if (!getpwnam ("_apt"))
                return "the user _apt (Debian's apt package makes it)";
        for (guint i = 0; i < G_N_ELEMENTS (tools); i++) {
                g_autofree char *path = g_find_program_in_path (tools[i]);
                if (!path)
                        return "apt, apt-utils, dpkg-dev, gpg and gpgv (scripts/setup-deps.sh installs them)";
        }
        if (!method || !g_file_test (method, G_FILE_TEST_IS_EXECUTABLE))
                return "XFERD_APT_METHOD, the built xferd+http (run the tests with meson test)";
        return NULL;
}

/* Runs argv in cwd with extra environment (NULL-terminated NAME=VALUE list), asserting it
 * succeeds; returns its stdout. */
static char *
run (const char *cwd, const char *const *env, const char *const *argv)
{
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) envp = g_get_environ ();
        g_autofree char *out = NULL;

        for (guint i = 0; env && env[i]; i++) {
                g_auto(GStrv) kv = g_strsplit (env[i], "=", 2);
                envp = g_environ_setenv (envp, kv[0], kv[1], TRUE);
        }
        if (!peer_run (cwd, (const char *const *) envp, argv, &out, &error))
                g_error ("%s%s", error->message, out ? out : "");
        return g_steal_pointer (&out);
}

static void
write_file (const char *path, const char *contents, gssize len)
{
        g_autoptr(GError) error = NULL;

        g_file_set_contents (path, contents, len, &error);
        g_assert_no_error (error);
}

static char *
deb_name (guint i)
{
        return g_strdup_printf ("%s_%s_all.deb", packages[i].name, packages[i].version);
}

char *
apt_repo_deb_path (const char *package)
{
        for (guint i = 0; i < G_N_ELEMENTS (packages); i++)
                if (strcmp (packages[i].name, package) == 0) {
                        g_autofree char *name = deb_name (i);
                        return g_strdup_printf ("/pool/main/%s", name);
                }
        g_assert_not_reached ();
}

GBytes *
apt_repo_deb (AptRepo *repo, const char *package)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *path = apt_repo_deb_path (package);
        g_autofree char *file = g_build_filename (repo->dir, path, NULL);
        char *data;
        gsize len;

        g_file_get_contents (file, &data, &len, &error);
        g_assert_no_error (error);
        return g_bytes_new_take (data, len);
}

static void
make_package (AptRepo *repo, guint i)
{
        g_autofree char *tree = g_build_filename (repo->dir, "build", packages[i].name, NULL);
        g_autofree char *debian = g_build_filename (tree, "DEBIAN", NULL);
        g_autofree char *share = g_build_filename (tree, "usr", "share", packages[i].name, NULL);
        g_autofree char *control = g_build_filename (debian, "control", NULL);
        g_autofree char *payload = g_build_filename (share, "payload", NULL);
        g_autofree char *name = deb_name (i);
        g_autofree char *deb = g_build_filename (repo->dir, "pool", "main", name, NULL);
        g_autofree char *text = g_strdup_printf ("Package: %s\nVersion: %s\nArchitecture: all\n"
                                                 "Maintainer: xferd tests <apt-test@xferd.invalid>\n"
                                                 "Description: a package of the xferd apt tests\n",
                                                 packages[i].name, packages[i].version);

        g_assert_no_errno (g_mkdir_with_parents (debian, 0755));
        g_assert_no_errno (g_mkdir_with_parents (share, 0755));
        write_file (control, text, -1);
        if (strcmp (packages[i].name, "big") == 0) {
                /* Incompressible, so the package is as large as its payload. */
                g_autoptr(GBytes) bytes = http_pattern_bytes (APT_REPO_BIG_SIZE);
                write_file (payload, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes));
        } else {
                write_file (payload, text, -1);
        }
        const char *const argv[] = { "dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, deb, NULL };
        g_free (run (NULL, NULL, argv));
}

/* Replaces the value of field in the stanza of package in a Packages file. */
static char *
corrupt_field (const char *packages_text, const char *package, const char *field)
{
        g_autofree char *stanza_start = g_strdup_printf ("Package: %s\n", package);
        g_autofree char *field_start = g_strdup_printf ("\n%s: ", field);
        g_autofree char *copy = g_strdup (packages_text);
        char *stanza = strstr (copy, stanza_start);
        g_assert_nonnull (stanza);
        char *value = strstr (stanza, field_start);
        g_assert_nonnull (value);
        value += strlen (field_start);
        /* A different hash of the same length: every hex digit moved by one. */
        for (char *p = value; g_ascii_isxdigit (*p); p++)
                *p = *p == 'f' ? '0' : *p == '9' ? 'a' : (char) (*p + 1);
        return g_steal_pointer (&copy);
}

static void
make_suite (AptRepo *repo, const char *suite, gboolean bad_hash)
{
        g_autofree char *dists = g_build_filename (repo->dir, "dists", suite, NULL);
        g_autofree char *bin = g_build_filename (dists, "main", "binary-all", NULL);
        g_autofree char *packages_file = g_build_filename (bin, "Packages", NULL);
        g_autofree char *release = g_build_filename (dists, "Release", NULL);
        g_autofree char *suite_opt = g_strdup_printf ("APT::FTPArchive::Release::Suite=%s", suite);
        g_autofree char *codename_opt = g_strdup_printf ("APT::FTPArchive::Release::Codename=%s", suite);

        g_assert_no_errno (g_mkdir_with_parents (bin, 0755));
        const char *const scan[] = { "apt-ftparchive", "packages", "pool", NULL };
        g_autofree char *text = run (repo->dir, NULL, scan);
        if (bad_hash) {
                g_autofree char *one = corrupt_field (text, "tiny-bad", "SHA256");
                g_free (text);
                text = corrupt_field (one, "tiny-bad", "SHA512");
        }
        write_file (packages_file, text, -1);

        const char *const rel[] = { "apt-ftparchive", "-o", suite_opt, "-o", codename_opt,
                                    "-o", "APT::FTPArchive::Release::Architectures=all",
                                    "-o", "APT::FTPArchive::Release::Components=main", "release", dists, NULL };
        g_autofree char *release_text = run (repo->dir, NULL, rel);
        write_file (release, release_text, -1);
}

static void
sign_suite (AptRepo *repo, const char *suite)
{
        g_autofree char *dists = g_build_filename (repo->dir, "dists", suite, NULL);
        g_autofree char *release = g_build_filename (dists, "Release", NULL);
        g_autofree char *inrelease = g_build_filename (dists, "InRelease", NULL);
        g_autofree char *detached = g_build_filename (dists, "Release.gpg", NULL);
        g_autofree char *home = g_strdup_printf ("GNUPGHOME=%s", repo->gnupghome);
        const char *const env[] = { home, NULL };

        const char *const clear[] = { "gpg", "--batch", "--yes", "--local-user", KEY_UID, "--clearsign",
                                      "--output", inrelease, release, NULL };
        g_free (run (NULL, env, clear));
        const char *const sig[] = { "gpg", "--batch", "--yes", "--local-user", KEY_UID, "--armor",
                                    "--detach-sign", "--output", detached, release, NULL };
        g_free (run (NULL, env, sig));
}

static void
make_key (AptRepo *repo)
{
        g_autofree char *home = g_strdup_printf ("GNUPGHOME=%s", repo->gnupghome);
        const char *const env[] = { home, NULL };

        g_assert_no_errno (g_mkdir (repo->gnupghome, 0700));
        const char *const gen[] = { "gpg", "--batch", "--passphrase", "", "--quick-generate-key", KEY_UID,
                                    "ed25519", "sign", "never", NULL };
        g_free (run (NULL, env, gen));
        repo->keyring = g_build_filename (repo->dir, "keyring.gpg", NULL);
        const char *const export[] = { "gpg", "--batch", "--yes", "--output", repo->keyring, "--export", KEY_UID, NULL };
        g_free (run (NULL, env, export));
        g_assert_no_errno (g_chmod (repo->keyring, 0644));
}

AptRepo *
apt_repo_new (void)
{
        g_autoptr(GError) error = NULL;
        AptRepo *repo = g_new0 (AptRepo, 1);
        g_autofree char *pool = NULL;

        /* Short: gpg-agent's socket lives in GNUPGHOME. */
        repo->dir = g_dir_make_tmp ("xferd-apt-XXXXXX", &error);
        g_assert_no_error (error);
        g_assert_no_errno (g_chmod (repo->dir, 0755));
        repo->gnupghome = g_build_filename (repo->dir, "gnupg", NULL);
        pool = g_build_filename (repo->dir, "pool", "main", NULL);
        g_assert_no_errno (g_mkdir_with_parents (pool, 0755));

        for (guint i = 0; i < G_N_ELEMENTS (packages); i++)
                make_package (repo, i);
        make_suite (repo, "plain", TRUE);
        make_suite (repo, "signed", FALSE);
        make_key (repo);
        sign_suite (repo, "signed");

        repo->http = http_server_new ();
        http_server_set_root (repo->http, repo->dir);
        g_autofree char *gone = apt_repo_deb_path ("tiny-gone");
        http_server_fail (repo->http, gone, 404, NULL, -1, HTTP_SERVER_FOREVER);
        repo->base = g_strdup_printf ("xferd+http://127.0.0.1:%u", http_server_get_port (repo->http));
        return repo;
}

static void
remove_tree (const char *path)
{
        const char *const argv[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };

        g_free (run (NULL, NULL, argv));
}

void
apt_repo_free (AptRepo *repo)
{
        if (!repo)
                return;
        http_server_free (repo->http);
        /* The agent gpg started for the signatures. */
        g_autofree char *home = g_strdup_printf ("GNUPGHOME=%s", repo->gnupghome);
        const char *const env[] = { home, NULL };
        const char *const kill_agent[] = { "gpgconf", "--kill", "all", NULL };
        g_free (run (NULL, env, kill_agent));
        remove_tree (repo->dir);
        g_free (repo->dir);
        g_free (repo->gnupghome);
        g_free (repo->keyring);
        g_free (repo->base);
        g_free (repo);
}

/* ---------------------------------------------------------------- apt roots */

static void
link_methods (const char *methods)
{
        const char *method = g_getenv ("XFERD_APT_METHOD");
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) dir = g_dir_open ("/usr/lib/apt/methods", 0, &error);
        const char *name;

        g_assert_no_error (error);
        /* apt's own methods (http for the fallback, gpgv, store, ...) beside ours. */
        while ((name = g_dir_read_name (dir))) {
                g_autofree char *target = g_build_filename ("/usr/lib/apt/methods", name, NULL);
                g_autofree char *link = g_build_filename (methods, name, NULL);
                g_assert_no_errno (symlink (target, link));
        }
        g_autofree char *ours = g_build_filename (methods, "xferd+http", NULL);
        g_autofree char *ours_s = g_build_filename (methods, "xferd+https", NULL);
        g_assert_no_errno (symlink (method, ours));
        g_assert_no_errno (symlink ("xferd+http", ours_s));
}

AptRoot *
apt_root_new (BusFixture *fx, AptRepo *repo, const char *sources, const char *extra_conf)
{
        AptRoot *r = g_new0 (AptRoot, 1);
        g_autofree char *etc = NULL, *state = NULL, *cache = NULL, *methods = NULL, *log = NULL;
        g_autofree char *status = NULL, *list = NULL, *conf = NULL;
        const char *const subdirs[] = { "apt.conf.d", "preferences.d", "sources.list.d", "trusted.gpg.d" };

        r->fx = fx;
        r->repo = repo;
        r->root = bus_fixture_mkdir (fx, "apt");
        etc = g_build_filename (r->root, "etc", NULL);
        state = g_build_filename (r->root, "state", NULL);
        cache = g_build_filename (r->root, "cache", NULL);
        methods = g_build_filename (r->root, "methods", NULL);
        log = g_build_filename (r->root, "log", NULL);
        r->lists = g_build_filename (state, "lists", NULL);
        r->archives = g_build_filename (cache, "archives", NULL);
        r->dl = g_build_filename (r->root, "dl", NULL);
        for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++) {
                g_autofree char *d = g_build_filename (etc, subdirs[i], NULL);
                g_assert_no_errno (g_mkdir_with_parents (d, 0755));
        }
        g_assert_no_errno (g_mkdir_with_parents (r->lists, 0755));
        g_assert_no_errno (g_mkdir_with_parents (r->archives, 0755));
        g_assert_no_errno (g_mkdir (methods, 0755));
        g_assert_no_errno (g_mkdir (log, 0755));
        g_assert_no_errno (g_mkdir (r->dl, 0755));
        /* apt-get download writes as _apt into the current directory. */
        g_assert_no_errno (chown (r->dl, apt_user_uid (), (gid_t) -1));
        link_methods (methods);

        status = g_build_filename (state, "status", NULL);
        write_file (status, "", 0);
        list = g_build_filename (etc, "sources.list", NULL);
        g_autoptr(GString) text = g_string_new (sources);
        g_string_replace (text, "@BASE@", repo->base, 0);
        g_string_replace (text, "@KEYRING@", repo->keyring, 0);
        write_file (list, text->str, -1);

        /* Everything apt reads or writes is in the root; nothing of the machine's apt. */
        r->conf = g_build_filename (etc, "apt.conf", NULL);
        conf = g_strdup_printf ("Dir::State \"%s\";\n"
                                "Dir::State::status \"%s\";\n"
                                "Dir::Cache \"%s\";\n"
                                "Dir::Etc \"%s\";\n"
                                "Dir::Etc::Parts \"apt.conf.d\";\n"
                                "Dir::Etc::SourceList \"sources.list\";\n"
                                "Dir::Etc::SourceParts \"sources.list.d\";\n"
                                "Dir::Etc::Preferences \"preferences\";\n"
                                "Dir::Etc::PreferencesParts \"preferences.d\";\n"
                                "Dir::Etc::Trusted \"trusted.gpg\";\n"
                                "Dir::Etc::TrustedParts \"trusted.gpg.d\";\n"
                                "Dir::Bin::Methods \"%s\";\n"
                                "Dir::Log \"%s\";\n"
                                "APT::Architecture \"amd64\";\n"
                                "APT::Architectures { \"amd64\"; };\n"
                                "APT::Sandbox::User \"_apt\";\n"
                                "Acquire::Languages \"none\";\n"
                                "Acquire::Retries \"0\";\n"
                                "Acquire::xferd::StartTimeout \"10\";\n"
                                "Debug::Acquire::xferd \"true\";\n"
                                "%s",
                                state, status, cache, etc, methods, log, extra_conf ? extra_conf : "");
        write_file (r->conf, conf, -1);
        return r;
}

void
apt_root_free (AptRoot *r)
{
        if (!r)
                return;
        g_free (r->root);
        g_free (r->conf);
        g_free (r->lists);
        g_free (r->archives);
        g_free (r->dl);
        g_free (r);
}

GStrv
apt_root_argv (AptRoot *r, gboolean new_group, const char *const *args)
{
        g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
        g_autofree char *config = g_strdup_printf ("APT_CONFIG=%s", r->conf);

        if (new_group)
                g_strv_builder_add (b, "setsid");
        g_strv_builder_add_many (b, "env", "-C", r->dl, "LC_ALL=C", config, "apt-get", "-q", NULL);
        g_strv_builder_addv (b, (const char **) args);
        return g_strv_builder_end (b);
}

int
apt_root_run (AptRoot *r, char **out, const char *first_arg, ...)
{
        g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
        g_autofree char *o = NULL, *e = NULL;
        va_list ap;

        va_start (ap, first_arg);
        for (const char *a = first_arg; a; a = va_arg (ap, const char *))
                g_strv_builder_add (b, a);
        va_end (ap);
        g_auto(GStrv) args = g_strv_builder_end (b);
        g_auto(GStrv) argv = apt_root_argv (r, FALSE, (const char *const *) args);
        int status = bus_fixture_run (r->fx, (const char *const *) argv, &o, &e);
        if (out)
                *out = g_strconcat (o, e, NULL);
        return status;
}
