/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OpenPGP keys made by the tests themselves, with gpg in a temporary
 * GNUPGHOME (nothing of the user's keys is read or changed): an ed25519
 * signing key without passphrase, its public keyring as gpgv reads it, and
 * detached signatures of any bytes. For the tests of signed checksum lists.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct OpenpgpKey OpenpgpKey;

/* TRUE when gpg, gpgconf and gpgv can run. Otherwise skips the test, or fails
 * it when CI=true (a missing peer is a broken setup there), and returns FALSE. */
gboolean openpgp_tools_available_or_skip (void);

/* faked_time: NULL, or a time gpg pretends it is ("20200101T000000"), to
 * make keys and signatures in the past; expire: "never", "1d", …
 * NULL and an error when gpg fails. */
OpenpgpKey *openpgp_key_new (const char *uid, const char *faked_time, const char *expire, GError **error);
void openpgp_key_free (OpenpgpKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OpenpgpKey, openpgp_key_free)

/* 40 upper-case hex digits. */
const char *openpgp_key_fingerprint (OpenpgpKey *key);
/* Writes the public key as a binary keyring (what keys.d holds). */
gboolean openpgp_key_export (OpenpgpKey *key, const char *path, GError **error);
/* A detached signature of data. digest_algo: NULL (gpg's choice) or "SHA1",
 * "SHA256", …; armor: ASCII armor; faked_time as above. */
GBytes *openpgp_key_sign (OpenpgpKey *key, GBytes *data, const char *digest_algo, gboolean armor,
                          const char *faked_time, GError **error);

/* The keys of a signature test: the test's own ("xferd test"), also written to dir/test.gpg
 * (mode 0644: a keyring gpgv reads), and a stranger's. Returns the keyring's path. */
char *openpgp_test_keys_new (const char *dir, OpenpgpKey **key, OpenpgpKey **stranger);

G_END_DECLS
