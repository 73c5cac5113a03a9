/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test OpenPGP keys: see openpgp-key.h. */
#include "openpgp-key.h"
#include "peer.h"

#include <glib/gstdio.h>
#include <string.h>

struct OpenpgpKey {
        char *home;
        char *fingerprint;
};

gboolean
openpgp_tools_available_or_skip (void)
{
        const char *tools[] = { "gpg", "gpgconf", "gpgv" };

        for (gsize i = 0; i < G_N_ELEMENTS (tools); i++) {
                g_autofree char *path = g_find_program_in_path (tools[i]);
                if (path)
                        continue;
                peer_skip_or_fail ("%s is missing (scripts/setup-deps.sh installs gnupg and gpgv)", tools[i]);
                return FALSE;
        }
        return TRUE;
}

/* Runs gpg (or gpgconf) with GNUPGHOME set; stdout into *out when not NULL. */
static gboolean
run_gpg (OpenpgpKey *key, const char *const *argv, char **out, GError **error)
{
        g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "GNUPGHOME", key->home, TRUE);

        env = g_environ_setenv (env, "LC_ALL", "C", TRUE);
        return peer_run (NULL, (const char *const *) env, argv, out, error);
}

OpenpgpKey *
openpgp_key_new (const char *uid, const char *faked_time, const char *expire, GError **error)
{
        g_autoptr(OpenpgpKey) key = g_new0 (OpenpgpKey, 1);
        g_autofree char *listing = NULL;
        g_auto(GStrv) lines = NULL;

        key->home = g_dir_make_tmp ("xferd-gpg-XXXXXX", error);
        if (!key->home)
                return NULL;
        g_chmod (key->home, 0700);

        g_autoptr(GPtrArray) gen = g_ptr_array_new ();
        g_ptr_array_add (gen, (char *) "gpg");
        g_ptr_array_add (gen, (char *) "--batch");
        g_ptr_array_add (gen, (char *) "--no-tty");
        g_ptr_array_add (gen, (char *) "--passphrase");
        g_ptr_array_add (gen, (char *) "");
        if (faked_time) {
                g_ptr_array_add (gen, (char *) "--faked-system-time");
                g_ptr_array_add (gen, (char *) faked_time);
        }
        g_ptr_array_add (gen, (char *) "--quick-gen-key");
        g_ptr_array_add (gen, (char *) uid);
        g_ptr_array_add (gen, (char *) "ed25519");
        g_ptr_array_add (gen, (char *) "sign");
        g_ptr_array_add (gen, (char *) (expire ? expire : "never"));
        g_ptr_array_add (gen, NULL);
        if (!run_gpg (key, (const char *const *) gen->pdata, NULL, error))
                return NULL;

        const char *list[] = { "gpg", "--batch", "--with-colons", "--list-keys", NULL };
        if (!run_gpg (key, list, &listing, error))
                return NULL;
        lines = g_strsplit (listing, "\n", -1);
        for (char **l = lines; *l && !key->fingerprint; l++)
                if (g_str_has_prefix (*l, "fpr:")) {
                        g_auto(GStrv) fields = g_strsplit (*l, ":", -1);
                        if (g_strv_length (fields) > 9)
                                key->fingerprint = g_strdup (fields[9]);
                }
        if (!key->fingerprint) {
                g_set_error_literal (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "gpg listed no fingerprint");
                return NULL;
        }
        return g_steal_pointer (&key);
}

void
openpgp_key_free (OpenpgpKey *key)
{
        if (!key)
                return;
        if (key->home) {
                /* gpg started an agent for this home: it must not outlive the test. */
                const char *kill_agent[] = { "gpgconf", "--kill", "gpg-agent", NULL };
                (void) run_gpg (key, kill_agent, NULL, NULL);
                peer_remove_tree (key->home);
        }
        g_free (key->home);
        g_free (key->fingerprint);
        g_free (key);
}

const char *
openpgp_key_fingerprint (OpenpgpKey *key)
{
        return key->fingerprint;
}

gboolean
openpgp_key_export (OpenpgpKey *key, const char *path, GError **error)
{
        const char *argv[] = { "gpg", "--batch", "--yes", "--output", path, "--export", key->fingerprint, NULL };

        return run_gpg (key, argv, NULL, error);
}

GBytes *
openpgp_key_sign (OpenpgpKey *key, GBytes *data, const char *digest_algo, gboolean armor,
                  const char *faked_time, GError **error)
{
        g_autofree char *in = g_build_filename (key->home, "to-sign", NULL);
        g_autofree char *out = g_build_filename (key->home, "signature", NULL);
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        char *contents = NULL;
        gsize size;

        if (!g_file_set_contents (in, g_bytes_get_data (data, NULL), (gssize) g_bytes_get_size (data), error))
                return NULL;
        g_ptr_array_add (argv, (char *) "gpg");
        g_ptr_array_add (argv, (char *) "--batch");
        g_ptr_array_add (argv, (char *) "--yes");
        g_ptr_array_add (argv, (char *) "--local-user");
        g_ptr_array_add (argv, key->fingerprint);
        if (digest_algo) {
                g_ptr_array_add (argv, (char *) "--digest-algo");
                g_ptr_array_add (argv, (char *) digest_algo);
        }
        if (faked_time) {
                g_ptr_array_add (argv, (char *) "--faked-system-time");
                g_ptr_array_add (argv, (char *) faked_time);
        }
        if (armor)
                g_ptr_array_add (argv, (char *) "--armor");
        g_ptr_array_add (argv, (char *) "--output");
        g_ptr_array_add (argv, out);
        g_ptr_array_add (argv, (char *) "--detach-sign");
        g_ptr_array_add (argv, in);
        g_ptr_array_add (argv, NULL);
        if (!run_gpg (key, (const char *const *) argv->pdata, NULL, error))
                return NULL;
        if (!g_file_get_contents (out, &contents, &size, error))
                return NULL;
        return g_bytes_new_take (contents, size);
}

char *
openpgp_test_keys_new (const char *dir, OpenpgpKey **key, OpenpgpKey **stranger)
{
        g_autoptr(GError) error = NULL;
        char *keyring = g_build_filename (dir, "test.gpg", NULL);

        *key = openpgp_key_new ("xferd test <test@example.invalid>", NULL, NULL, &error);
        g_assert_no_error (error);
        *stranger = openpgp_key_new ("stranger <stranger@example.invalid>", NULL, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (openpgp_key_export (*key, keyring, &error));
        g_assert_no_error (error);
        g_assert_cmpint (g_chmod (keyring, 0644), ==, 0);
        return keyring;
}
