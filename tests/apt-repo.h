/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For the apt tests: a small Debian repository made with the real tools (dpkg-deb,
 * apt-ftparchive, gpg) and served by the test HTTP server, and apt roots of their own
 * (state, cache, configuration and a methods directory holding apt's own methods plus the
 * built xferd+http), in which the real apt-get runs as root and drops to _apt.
 *
 * The repository has two suites over one pool:
 *   plain   Release only, no signature (sources entries say [trusted=yes]); its Packages
 *           entry of tiny-bad carries wrong SHA256 and SHA512 sums
 *   signed  Release, InRelease and Release.gpg, signed by a key made in a temporary
 *           GNUPGHOME (sources entries say [signed-by=<keyring>])
 * and the packages tiny-a, tiny-b, tiny-bad, tiny-gone (whose file the server answers with
 * 404) and big (APT_REPO_BIG_SIZE bytes of payload, served at a limited rate when a test
 * asks for it).
 */
#pragma once

#include <sys/types.h>

#include "bus-fixture.h"
#include "http-server.h"

G_BEGIN_DECLS

#define APT_REPO_BIG_SIZE (4 * 1024 * 1024)

typedef struct {
        char *dir;              /* the repository: dists/, pool/ */
        char *gnupghome;
        char *keyring;          /* the public key, for signed-by */
        HttpServer *http;
        char *base;             /* xferd+http://127.0.0.1:PORT */
} AptRepo;

/* What the tests need and the reason they skip (or fail with CI=true) without it: root, the
 * user _apt, apt-get, apt-ftparchive, dpkg-deb, gpg, the built method. NULL when all is there. */
const char *apt_repo_missing (void);

/* Builds the repository in a new temporary directory and serves it. */
AptRepo *apt_repo_new (void);
void apt_repo_free (AptRepo *repo);
/* The pool path of a package's file ("/pool/main/tiny-a_1.0_all.deb"). */
char *apt_repo_deb_path (const char *package);
/* The bytes of a package's file as the repository holds it. */
GBytes *apt_repo_deb (AptRepo *repo, const char *package);

/* An apt root in the bus fixture's directory, with one sources line. */
typedef struct {
        BusFixture *fx;
        AptRepo *repo;
        char *root;
        char *conf;             /* APT_CONFIG */
        char *lists;            /* Dir::State::lists */
        char *archives;         /* Dir::Cache::archives */
        char *dl;               /* where apt-get download writes: _apt's */
} AptRoot;

/* sources: the sources.list, in which @BASE@ stands for the repository's base URI and
 * @KEYRING@ for its keyring, e.g. "deb [trusted=yes] @BASE@ plain main\n".
 * extra_conf: more apt.conf lines, may be NULL. */
AptRoot *apt_root_new (BusFixture *fx, AptRepo *repo, const char *sources, const char *extra_conf);
void apt_root_free (AptRoot *root);

/* The argv of apt-get in this root ("env -C <dl> LC_ALL=C APT_CONFIG=... apt-get -q ..."),
 * followed by args (NULL-terminated); with new_group, apt-get starts a process group of its
 * own (setsid), as a shell's job would. */
GStrv apt_root_argv (AptRoot *root, gboolean new_group, const char *const *args);
/* Runs apt-get to its end; returns its exit status, *out (stdout and stderr) if asked. */
int apt_root_run (AptRoot *root, char **out, const char *first_arg, ...) G_GNUC_NULL_TERMINATED;

/* The uid of _apt. */
uid_t apt_user_uid (void);

G_END_DECLS
