/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the apt tests (test-apt.c) share: an environment of a bus fixture configured like the
 * system bus and an apt root (apt-repo.h), and the checks made after apt-get ran: no job left
 * in xferd, the method's jobs owned by _apt, files byte-exact, no temporary file left.
 */
#pragma once

#include "apt-repo.h"
#include "bus-fixture.h"

G_BEGIN_DECLS

/* The sources lines of the repository's two suites (see apt-repo.h). */
#define PLAIN "deb [trusted=yes] @BASE@ plain main\n"
#define SIGNED "deb [signed-by=@KEYRING@] @BASE@ signed main\n"

/* The repository, built once by main(); NULL when the tests cannot run. */
extern AptRepo *apt_test_repo;

typedef struct {
        BusFixture *fx;
        AptRoot *apt;
} AptEnv;

AptEnv *apt_env_new (const char *sources, const char *extra_conf);
void apt_env_free (AptEnv *env);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AptEnv, apt_env_free)

/* Whether the test can run; marks it skipped (or failed, with CI=true) when not. */
gboolean apt_test_available (void);

/* apt-get update in the root, asserted to succeed without errors or warnings; its output. */
char *apt_update_ok (AptEnv *env);

/* Where the signals of what comes next start: everything xferd sent so far is recorded. */
guint apt_signals_mark (BusFixture *fx);
/* The job ids of the JobNew signals from index `from` on. */
GPtrArray *apt_jobs_since (BusFixture *fx, guint from);
char *apt_job_path (const char *id);
void apt_assert_no_jobs (BusFixture *fx);
/* Every job made since `from` (at least at_least) is _apt's and final; none is left. */
void apt_assert_jobs_of_apt (BusFixture *fx, guint from, guint at_least);

void apt_assert_file_bytes (const char *path, GBytes *expected);
/* dir holds the package's file, byte for byte as the repository has it. */
void apt_assert_deb_in (const char *dir, const char *package);
/* dir holds nothing but `allowed` (NULL-terminated, may be NULL): no temporary file either. */
void apt_assert_dir_holds_only (const char *dir, const char *const *allowed);
/* The path apt gives a file of a suite in its lists directory ("LISTS/127.0.0.1:PORT_dists_..."). */
char *apt_lists_file (const char *lists, const char *suite, const char *name);

G_END_DECLS
