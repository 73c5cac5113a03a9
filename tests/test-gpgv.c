/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signature checks with gpgv (daemon/gpgv.c, daemon/gpgv-verdict.c): the verdict of status
 * lines, the keyrings of keys.d, and the real gpgv on an sd-event loop against keys this test
 * makes with gpg in a temporary GNUPGHOME. */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "gpgv.h"
#include "openpgp-key.h"
#include "peer.h"
#include "test-cases.h"
#include "util.h"

#define FPR "493525EFA3D14C334A5218DFBF1EB6816C659CB9"
#define KEYID "BF1EB6816C659CB9"
#define NEWSIG "[GNUPG:] NEWSIG\n"
#define GOODSIG "[GNUPG:] GOODSIG " KEYID " xferd test <test@example.invalid>\n"
#define VALIDSIG(hash) "[GNUPG:] VALIDSIG " FPR " 2026-12-03 1796338104 0 4 0 22 " hash " 00 " FPR "\n"
#define ERRSIG_NOKEY "[GNUPG:] ERRSIG " KEYID " 22 8 00 1796338104 9 " FPR "\n[GNUPG:] NO_PUBKEY " KEYID "\n"

static void
assert_verdict (const char *status, int exit_status, GpgvVerdict want, const char *want_key)
{
        char key[GPGV_KEY_MAX];
        GpgvVerdict v = gpgv_verdict_from_status (status, strlen (status), exit_status, key);

        g_test_message ("want %s, got %s", gpgv_verdict_to_string (want), gpgv_verdict_to_string (v));
        g_assert_cmpint (v, ==, want);
        g_assert_cmpstr (key, ==, want_key);
}

/* gpgv's status lines as gpgv 2.2 writes them (captured by hand), and variations. */
static void
test_verdict (void)
{
        assert_verdict (NEWSIG "[GNUPG:] KEY_CONSIDERED " FPR " 0\n[GNUPG:] SIG_ID x 2026-12-03 1\n"
                        GOODSIG VALIDSIG ("8"),
                       0, GPGV_GOOD, FPR);
        /* gpgv must agree. */
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("8"), 1, GPGV_FAILED, "");
        /* GOODSIG without VALIDSIG is not enough. */
        assert_verdict (NEWSIG GOODSIG, 0, GPGV_FAILED, KEYID);
        assert_verdict (NEWSIG "[GNUPG:] BADSIG " KEYID " xferd test\n", 1, GPGV_BAD, KEYID);
        assert_verdict (NEWSIG ERRSIG_NOKEY, 2, GPGV_UNKNOWN_KEY, KEYID);
        assert_verdict (NEWSIG "[GNUPG:] ERRSIG " KEYID " 22 8 00 1796338104 4 " FPR "\n", 2, GPGV_FAILED, KEYID);
        assert_verdict (NEWSIG "[GNUPG:] KEYEXPIRED 1\n[GNUPG:] EXPKEYSIG " KEYID " x\n" VALIDSIG ("8"), 0,
                       GPGV_EXPIRED, FPR);
        assert_verdict (NEWSIG "[GNUPG:] EXPSIG " KEYID " x\n" VALIDSIG ("8"), 0, GPGV_EXPIRED, FPR);
        assert_verdict (NEWSIG "[GNUPG:] REVKEYSIG " KEYID " x\n" VALIDSIG ("8"), 0, GPGV_REVOKED, FPR);
        /* SHA-1 (2), MD5 (1), RIPEMD-160 (3) are too weak; SHA-512 (10) is fine. */
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("2"), 0, GPGV_WEAK_DIGEST, FPR);
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("1"), 0, GPGV_WEAK_DIGEST, FPR);
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("3"), 0, GPGV_WEAK_DIGEST, FPR);
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("10"), 0, GPGV_GOOD, FPR);
        assert_verdict ("[GNUPG:] NODATA 1\n[GNUPG:] NODATA 2\n", 2, GPGV_NO_SIGNATURE, "");
        assert_verdict ("", 0, GPGV_FAILED, "");
        assert_verdict ("gpgv: something on the wrong fd\n", 2, GPGV_FAILED, "");
        /* Several signatures: the worst decides. */
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("8") NEWSIG "[GNUPG:] BADSIG " KEYID " x\n", 1, GPGV_BAD, KEYID);
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("8") NEWSIG ERRSIG_NOKEY, 2, GPGV_UNKNOWN_KEY, KEYID);
        assert_verdict (NEWSIG GOODSIG VALIDSIG ("8") NEWSIG GOODSIG VALIDSIG ("8"), 0, GPGV_GOOD, FPR);
        /* A keyword is a whole word; no status line without the prefix counts. */
        assert_verdict (NEWSIG "[GNUPG:] GOODSIGNATURE x\n" VALIDSIG ("8"), 0, GPGV_FAILED, FPR);
        assert_verdict (NEWSIG "GOODSIG " KEYID " x\n" VALIDSIG ("8"), 0, GPGV_FAILED, FPR);

        GString *many = g_string_new (NULL);
        for (int i = 0; i < 17; i++)
                g_string_append (many, NEWSIG GOODSIG VALIDSIG ("8"));
        assert_verdict (many->str, 0, GPGV_FAILED, "");
        g_string_free (many, TRUE);

        for (GpgvVerdict v = 0; v < _GPGV_VERDICT_MAX; v++)
                g_assert_nonnull (gpgv_verdict_to_string (v));
        g_assert_cmpstr (gpgv_verdict_to_string (GPGV_UNKNOWN_KEY), ==, "unknown-key");
}

static void
touch (const char *dir, const char *name, mode_t mode)
{
        g_autofree char *path = g_build_filename (dir, name, NULL);

        g_assert_true (g_file_set_contents (path, "x", 1, NULL));
        g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static void
test_keyrings (void)
{
        g_autofree char *dir = g_dir_make_tmp ("xferd-test-keys-XXXXXX", NULL);
        g_autofree char *sub = g_build_filename (dir, "sub.gpg", NULL);
        g_autofree char *missing = g_build_filename (dir, "missing", NULL);
        char **l = NULL;

        touch (dir, "b.gpg", 0644);
        touch (dir, "a.gpg", 0600);
        touch (dir, ".hidden.gpg", 0644);
        touch (dir, "c.asc", 0644);         /* gpgv cannot read armored keyrings */
        touch (dir, "writable.gpg", 0664);  /* anyone of the group could add a key */
        touch (dir, "gpg", 0644);
        g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);

        g_assert_cmpint (gpgv_keyrings_in (dir, &l), ==, 0);
        g_assert_cmpuint (strv_length (l), ==, 2);
        g_autofree char *a = g_build_filename (dir, "a.gpg", NULL);
        g_autofree char *b = g_build_filename (dir, "b.gpg", NULL);
        g_assert_cmpstr (l[0], ==, a);
        g_assert_cmpstr (l[1], ==, b);
        l = strv_free (l);

        g_assert_cmpint (gpgv_keyrings_in (missing, &l), ==, 0);
        g_assert_cmpuint (strv_length (l), ==, 0);
        l = strv_free (l);

        g_rmdir (sub);
        const char *names[] = { "a.gpg", "b.gpg", ".hidden.gpg", "c.asc", "writable.gpg", "gpg" };
        for (size_t i = 0; i < G_N_ELEMENTS (names); i++) {
                g_autofree char *p = g_build_filename (dir, names[i], NULL);
                g_unlink (p);
        }
        g_rmdir (dir);
}

static void
test_keys_dir (void)
{
        g_autofree char *saved_config = g_strdup (g_getenv ("XDG_CONFIG_HOME"));
        g_autofree char *saved_home = g_strdup (g_getenv ("HOME"));
        char *d = NULL;

        g_assert_cmpint (gpgv_keys_dir (false, &d), ==, 0);
        g_assert_cmpstr (d, ==, XFERD_SYSCONFDIR "/keys.d");
        d = mfree (d);

        g_setenv ("XDG_CONFIG_HOME", "/home/u/.cfg", TRUE);
        g_assert_cmpint (gpgv_keys_dir (true, &d), ==, 0);
        g_assert_cmpstr (d, ==, "/home/u/.cfg/xferd/keys.d");
        d = mfree (d);

        /* A relative XDG_CONFIG_HOME is invalid (XDG base directory spec): ignored. */
        g_setenv ("XDG_CONFIG_HOME", "relative", TRUE);
        g_setenv ("HOME", "/home/v", TRUE);
        g_assert_cmpint (gpgv_keys_dir (true, &d), ==, 0);
        g_assert_cmpstr (d, ==, "/home/v/.config/xferd/keys.d");
        d = mfree (d);

        if (saved_config)
                g_setenv ("XDG_CONFIG_HOME", saved_config, TRUE);
        else
                g_unsetenv ("XDG_CONFIG_HOME");
        if (saved_home)
                g_setenv ("HOME", saved_home, TRUE);
}

/* ---- the real gpgv ------------------------------------------------------------------------ */

typedef struct Run {
        bool done;
        GpgvVerdict verdict;
        char *key;
        char *message;
} Run;

static void
on_done (Gpgv *g, const GpgvResult *result, void *userdata)
{
        Run *run = userdata;

        g_assert_false (run->done);
        run->done = true;
        run->verdict = result->verdict;
        run->key = g_strdup (result->key);
        run->message = g_strdup (result->message);
}

static void
run_clear (Run *run)
{
        g_free (run->key);
        g_free (run->message);
        *run = (Run) { 0 };
}

/* Runs gpgv on data and signature with keyring, to its verdict. */
static void
run_gpgv_as (const char *program, const char *keyring, GBytes *data, GBytes *signature,
             uid_t uid, gid_t gid, uint64_t timeout_usec, Run *run)
{
        char *keyrings[] = { (char *) keyring, NULL };
        GpgvRequest req = {
                .gpgv = program,
                .keyrings = keyrings,
                .data = g_bytes_get_data (data, NULL),
                .data_size = g_bytes_get_size (data),
                .signature = g_bytes_get_data (signature, NULL),
                .signature_size = g_bytes_get_size (signature),
                .uid = uid,
                .gid = gid,
                .timeout_usec = timeout_usec,
        };
        sd_event *e = NULL;
        Gpgv *g = NULL;

        run_clear (run);
        g_assert_cmpint (sd_event_new (&e), >=, 0);
        g_assert_cmpint (gpgv_start (e, &req, on_done, run, &g), ==, 0);
        g_assert_false (run->done);
        for (int i = 0; !run->done; i++) {
                g_assert_cmpint (i, <, 10000);
                g_assert_cmpint (sd_event_run (e, 30 * USEC_PER_SEC), >=, 0);
        }
        g_test_message ("%s: %s", gpgv_verdict_to_string (run->verdict), run->message);
        gpgv_free (g);
        sd_event_unref (e);
}

static void
run_gpgv (const char *program, const char *keyring, GBytes *data, GBytes *signature,
          uint64_t timeout_usec, Run *run)
{
        run_gpgv_as (program, keyring, data, signature, (uid_t) -1, (gid_t) -1, timeout_usec, run);
}

typedef struct Keys {
        OpenpgpKey *key, *stranger;
        char *dir, *keyring;
} Keys;

static bool
keys_make (Keys *k)
{
        if (!openpgp_tools_available_or_skip ())
                return false;
        k->dir = g_dir_make_tmp ("xferd-test-keysd-XXXXXX", NULL);
        g_assert_cmpint (g_chmod (k->dir, 0755), ==, 0);
        k->keyring = openpgp_test_keys_new (k->dir, &k->key, &k->stranger);
        return true;
}

static void
keys_free (Keys *k)
{
        openpgp_key_free (k->key);
        openpgp_key_free (k->stranger);
        if (k->keyring)
                g_unlink (k->keyring);
        if (k->dir)
                g_rmdir (k->dir);
        g_free (k->keyring);
        g_free (k->dir);
}

static GBytes *
sign (OpenpgpKey *key, GBytes *data, const char *digest_algo, gboolean armor, const char *faked_time)
{
        g_autoptr (GError) error = NULL;
        GBytes *sig = openpgp_key_sign (key, data, digest_algo, armor, faked_time, &error);

        g_assert_no_error (error);
        return sig;
}

static const char list_text[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  file.iso\n";

static void
test_gpgv_real (void)
{
        Keys k = { 0 };
        Run run = { 0 };

        if (!keys_make (&k))
                return;
        g_autoptr (GBytes) list = g_bytes_new_static (list_text, sizeof list_text - 1);
        g_autoptr (GBytes) good = sign (k.key, list, NULL, FALSE, NULL);

        run_gpgv (NULL, k.keyring, list, good, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_GOOD);
        g_assert_cmpstr (run.key, ==, openpgp_key_fingerprint (k.key));
        g_assert_nonnull (strstr (run.message, openpgp_key_fingerprint (k.key)));

        /* An armored signature is as good. */
        g_autoptr (GBytes) armored = sign (k.key, list, NULL, TRUE, NULL);
        run_gpgv (NULL, k.keyring, list, armored, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_GOOD);

        /* One changed byte of the list. */
        g_autofree char *changed = g_strdup (list_text);
        changed[0] = 'c';
        g_autoptr (GBytes) changed_list = g_bytes_new (changed, strlen (changed));
        run_gpgv (NULL, k.keyring, changed_list, good, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_BAD);
        g_assert_nonnull (strstr (run.message, "was changed"));

        /* Signed by a key that is not in keys.d. */
        g_autoptr (GBytes) stranger = sign (k.stranger, list, NULL, FALSE, NULL);
        run_gpgv (NULL, k.keyring, list, stranger, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_UNKNOWN_KEY);
        /* The key id is the last 16 digits of the fingerprint. */
        g_assert_true (g_str_has_suffix (openpgp_key_fingerprint (k.stranger), run.key));
        g_assert_nonnull (strstr (run.message, "in none of the keyrings"));

        /* SHA-1: refused although gpgv 2.2 calls it good. */
        g_autoptr (GBytes) sha1 = sign (k.key, list, "SHA1", FALSE, NULL);
        run_gpgv (NULL, k.keyring, list, sha1, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_WEAK_DIGEST);

        /* No signature at all: an HTML error page, an empty file. */
        g_autoptr (GBytes) html = g_bytes_new_static ("<html>404</html>\n", 17);
        run_gpgv (NULL, k.keyring, list, html, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_NO_SIGNATURE);
        g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
        run_gpgv (NULL, k.keyring, list, empty, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_NO_SIGNATURE);

        /* A keyring that is not there: gpgv knows no key. */
        g_autofree char *nowhere = g_build_filename (k.dir, "nowhere.gpg", NULL);
        run_gpgv (NULL, nowhere, list, good, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_UNKNOWN_KEY);

        run_clear (&run);
        keys_free (&k);
}

/* A key made in 2020 that expired a day later, and a signature made while it was valid. */
static void
test_gpgv_expired (void)
{
        g_autoptr (GError) error = NULL;
        Keys k = { 0 };
        Run run = { 0 };

        if (!openpgp_tools_available_or_skip ())
                return;
        k.key = openpgp_key_new ("old <old@example.invalid>", "20200101T000000", "1d", &error);
        g_assert_no_error (error);
        k.dir = g_dir_make_tmp ("xferd-test-keysd-XXXXXX", NULL);
        k.keyring = g_build_filename (k.dir, "old.gpg", NULL);
        g_assert_true (openpgp_key_export (k.key, k.keyring, &error));
        g_assert_no_error (error);

        g_autoptr (GBytes) list = g_bytes_new_static (list_text, sizeof list_text - 1);
        g_autoptr (GBytes) sig = sign (k.key, list, NULL, FALSE, "20200101T010000");
        run_gpgv (NULL, k.keyring, list, sig, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_EXPIRED);

        run_clear (&run);
        keys_free (&k);
}

/* A stand-in for gpgv: a shell script in a temporary directory. */
static char *
fake_gpgv (const char *body, char **ret_dir)
{
        g_autofree char *script = g_strdup_printf ("#!/bin/sh\n%s\n", body);
        char *path;

        *ret_dir = g_dir_make_tmp("xferd-test-fake-gpgv-XXXXXX", NULL);
        g_assert_cmpint (g_chmod (*ret_dir, 0755), ==, 0);
        path = g_build_filename (*ret_dir, "gpgv", NULL);
        g_assert_true (g_file_set_contents (path, script, -1, NULL));
        g_assert_cmpint (g_chmod (path, 0755), ==, 0);
        return path;
}

static void
fake_gpgv_remove (char *path, char *dir)
{
        g_unlink (path);
        g_rmdir (dir);
        g_free (path);
        g_free (dir);
}

static void
test_gpgv_failures (void)
{
        g_autoptr (GBytes) list = g_bytes_new_static (list_text, sizeof list_text - 1);
        g_autoptr (GBytes) sig = g_bytes_new_static ("sig", 3);
        char *dir;
        Run run = { 0 };

        /* Not installed. */
        run_gpgv ("/nonexistent/gpgv", "/nonexistent.gpg", list, sig, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_FAILED);
        g_assert_nonnull (strstr (run.message, "could not be started"));

        /* Hangs: killed at the timeout. */
        char *hang = fake_gpgv ("exec sleep 300", &dir);
        run_gpgv (hang, "/nonexistent.gpg", list, sig, 200 * USEC_PER_MSEC, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_FAILED);
        g_assert_nonnull (strstr (run.message, "did not finish in time"));
        fake_gpgv_remove (hang, dir);

        /* Dies of a signal after a good-looking start. */
        char *crash = fake_gpgv ("echo '" NEWSIG GOODSIG "' >&3; kill -SEGV $$", &dir);
        run_gpgv (crash, "/nonexistent.gpg", list, sig, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_FAILED);
        g_assert_nonnull (strstr (run.message, "killed by signal"));
        fake_gpgv_remove (crash, dir);

        /* Floods its status pipe: read as it comes (gpgv never blocks), then refused. */
        char *flood = fake_gpgv ("head -c 3000000 /dev/zero | tr '\\0' x >&3", &dir);
        run_gpgv (flood, "/nonexistent.gpg", list, sig, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_FAILED);
        g_assert_nonnull (strstr (run.message, "more status"));
        fake_gpgv_remove (flood, dir);

        /* The arguments: status on fd 3, signature on 4, data on 5, the keyring given, nothing
         * else open; the fake checks them and says good only if all hold. */
        char *args = fake_gpgv (
                "[ \"$*\" = \"--homedir /nonexistent --status-fd=3 --enable-special-filenames "
                "--keyring /k/one.gpg -- -&4 -&5\" ] || exit 3\n"
                "[ \"$(cat <&4)\" = sig ] || exit 4\n"
                "cmp -s - /proc/self/fd/5 <<EOF || exit 5\n"
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  file.iso\n"
                "EOF\n"
                "[ ! -e /proc/self/fd/6 ] || exit 6\n"
                "echo '" NEWSIG GOODSIG VALIDSIG ("8") "' >&3",
                &dir);
        run_gpgv (args, "/k/one.gpg", list, sig, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_GOOD);
        fake_gpgv_remove (args, dir);

        run_clear (&run);
}

/* The system service runs gpgv as the job's owner, not as root. */
static void
test_gpgv_identity (void)
{
        g_autoptr (GBytes) list = g_bytes_new_static (list_text, sizeof list_text - 1);
        g_autoptr (GBytes) sig = g_bytes_new_static ("sig", 3);
        struct passwd *pw = getpwnam ("xferd-test-a");
        char *dir;
        Run run = { 0 };

        if (geteuid () != 0 || !pw) {
                peer_skip_or_fail ("this test needs root and the user xferd-test-a");
                return;
        }
        /* The fake reports the uid and gid it runs with as the key. */
        char *who = fake_gpgv ("echo \"[GNUPG:] NEWSIG\n[GNUPG:] BADSIG $(id -u)/$(id -g)/$(id -G) x\" >&3", &dir);
        run_gpgv_as (who, "/nonexistent.gpg", list, sig, pw->pw_uid, pw->pw_gid, 0, &run);
        g_assert_cmpint (run.verdict, ==, GPGV_BAD);
        /* No supplementary group of root's is kept. */
        g_autofree char *want = g_strdup_printf ("%u/%u/%u", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid,
                                                (unsigned) pw->pw_gid);
        g_assert_cmpstr (run.key, ==, want);

        run_gpgv (who, "/nonexistent.gpg", list, sig, 0, &run);
        g_assert_cmpstr (run.key, ==, "0/0/0");
        fake_gpgv_remove (who, dir);
        run_clear (&run);
}

/* Freed while gpgv runs (the job was cancelled): killed and reaped, no callback. */
static void
test_gpgv_free_running (void)
{
        char *dir;
        char *keyrings[] = { (char *) "/nonexistent.gpg", NULL };
        sd_event *e = NULL;
        Gpgv *g = NULL;
        Run run = { 0 };

        char *hang = fake_gpgv ("exec sleep 300", &dir);
        GpgvRequest req = {
                .gpgv = hang, .keyrings = keyrings, .data = "x", .data_size = 1, .signature = "y",
                .signature_size = 1, .uid = (uid_t) -1, .gid = (gid_t) -1,
        };
        g_assert_cmpint (sd_event_new (&e), >=, 0);
        g_assert_cmpint (gpgv_start (e, &req, on_done, &run, &g), ==, 0);

        /* Our only child is gpgv (the gpg runs of other tests are reaped). */
        pid_t pid = 0;
        for (int i = 0; i < 1000 && pid == 0; i++) {
                g_assert_cmpint (sd_event_run (e, 10 * USEC_PER_MSEC), >=, 0);
                g_autofree char *children = NULL;
                g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/children", getpid ());
                if (g_file_get_contents (path, &children, NULL, NULL) && children[0])
                        pid = (pid_t) atoi (children);
        }
        g_assert_cmpint (pid, >, 0);
        g_assert_cmpint (kill (pid, 0), ==, 0);

        gpgv_free (g);
        /* Reaped: the pid is gone, not a zombie. */
        g_assert_cmpint (kill (pid, 0), ==, -1);
        g_assert_cmpint (errno, ==, ESRCH);
        for (int i = 0; i < 5; i++)
                g_assert_cmpint (sd_event_run (e, 0), >=, 0);
        g_assert_false (run.done);

        sd_event_unref (e);
        fake_gpgv_remove (hang, dir);
}

const TestCase test_cases[] = {
        { "/gpgv/verdict", test_verdict },
        { "/gpgv/keyrings", test_keyrings },
        { "/gpgv/keys-dir", test_keys_dir },
        { "/gpgv/real", test_gpgv_real },
        { "/gpgv/expired", test_gpgv_expired },
        { "/gpgv/failures", test_gpgv_failures },
        { "/gpgv/identity", test_gpgv_identity },
        { "/gpgv/free-running", test_gpgv_free_running },
        { NULL, NULL }
};

int
main (int argc, char *argv[])
{
        sigset_t mask;

        /* sd_event_add_child() needs SIGCHLD blocked, as the daemon has it. */
        sigemptyset (&mask);
        sigaddset (&mask, SIGCHLD);
        g_assert_cmpint (sigprocmask (SIG_BLOCK, &mask, NULL), ==, 0);

        g_test_init (&argc, &argv, NULL);
        test_add_cases (test_cases);
        return g_test_run ();
}
