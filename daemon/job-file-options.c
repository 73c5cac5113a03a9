/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The integrity options of a download's file (checksum, size, mirrors, a signed checksum
 * list): checked when the file is added, so that a bad value changes nothing of the job. */
#include <inttypes.h>
#include <stdio.h>

#include "digest.h"
#include "manager-internal.h"
#include "util.h"
#include "verify.h"

/* More would only multiply the time a file takes to fail. */
#define MIRRORS_MAX 16

/* A URL that is not the file's own: a wrong scheme is a bad argument like any other. */
static int check_other_url(Manager *m, const char *url, const char *what, CallError *e) {
        int r = job_files_validate_url(m, url, e);

        if (r < 0 && e && e->kind != CALL_ERROR_STRING_TOO_LONG) {
                char why[sizeof e->message];

                snprintf(why, sizeof why, "%s", e->message);
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS, "The %s is not usable: %s", what, why);
        }
        return r;
}

int file_options_check_list(Manager *m, const char *list, const char *signature, char **ret_list,
                            char **ret_signature, CallError *e) {
        _cleanup_free_ char *l = NULL, *s = NULL;
        int r;

        assert(m);
        assert(ret_list);
        assert(ret_signature);

        if (!list) {
                if (signature)
                        return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS, "checksum-list-signature "
                                              "needs checksum-list, the URL of the list it signs.");
                *ret_list = *ret_signature = NULL;
                return 0;
        }
        r = check_other_url(m, list, "checksum list URL", e);
        if (r < 0)
                return r;
        l = strdup(list);
        /* As systemd-importd and apt do: the detached signature lives next to the list. */
        if (signature)
                s = strdup(signature);
        else if (asprintf(&s, "%s.gpg", list) < 0)
                s = NULL;
        if (!l || !s)
                return -ENOMEM;
        r = check_other_url(m, s, "checksum list signature URL", e);
        if (r < 0)
                return r;
        *ret_list = TAKE_PTR(l);
        *ret_signature = TAKE_PTR(s);
        return 0;
}

static int apply_checksum(JobFile *f, const JobFileOptions *o, CallError *e) {
        char error[256], buf[DIGEST_STRING_MAX];
        Digest d, empty;
        int r;

        r = digest_from_string(o->checksum, &d, error, sizeof error);
        if (r < 0)
                return call_error_set(e, r, CALL_ERROR_INVALID_ARGS, "%s", error);
        if (o->expect_size && o->size == 0) {
                r = digest_of_empty(d.algorithm, &empty);
                if (r < 0)
                        return r;
                if (!digest_equal(&d, &empty))
                        return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                              "A size of 0 is the empty file, whose checksum is %s; the checksum "
                                              "given is another. Give the right size or the right checksum.",
                                              digest_to_string(&empty, buf));
        }
        /* Stored in one spelling: lower-case hex. */
        f->checksum = strdup(digest_to_string(&d, buf));
        if (!f->checksum)
                return -ENOMEM;
        f->checksum_source = VERIFY_BY_CHECKSUM;
        return 0;
}

static int apply_mirrors(Job *j, JobFile *f, char * const *mirrors, CallError *e) {
        size_t n = strv_length(mirrors);
        int r;

        if (n == 0)
                return 0;
        if (n > MIRRORS_MAX)
                return call_error_set(e, -E2BIG, CALL_ERROR_INVALID_ARGS,
                                      "%zu mirrors were given; at most %d are allowed.", n, MIRRORS_MAX);
        for (size_t i = 0; i < n; i++) {
                char what[32];

                snprintf(what, sizeof what, "mirror %zu", i + 1);
                r = check_other_url(j->manager, mirrors[i], what, e);
                if (r < 0)
                        return r;
        }
        f->mirrors = strv_copy(mirrors);
        return f->mirrors ? 0 : -ENOMEM;
}

int file_options_apply(Job *j, JobFile *f, const JobFileOptions *o, CallError *e) {
        int r;

        assert(j);
        assert(f);

        if (o && j->type == JOB_UPLOAD &&
            (o->checksum || o->expect_size || o->mirrors || o->checksum_list || o->checksum_list_signature))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "checksum, size, mirrors and checksum lists apply to downloads only.");
        if (j->type == JOB_UPLOAD)
                return 0;

        if (o && o->checksum) {
                r = apply_checksum(f, o, e);
                if (r < 0)
                        return r;
        }
        if (o && o->expect_size) {
                f->expect_size = true;
                f->expected_size = o->size;
        }
        if (o) {
                r = apply_mirrors(j, f, o->mirrors, e);
                if (r < 0)
                        return r;
        }

        /* The file's own list, else the job's (checked when the job was made). */
        if (o && (o->checksum_list || o->checksum_list_signature))
                return file_options_check_list(j->manager, o->checksum_list, o->checksum_list_signature,
                                               &f->checksum_list, &f->checksum_list_signature, e);
        if (j->checksum_list) {
                f->checksum_list = strdup(j->checksum_list);
                f->checksum_list_signature = strdup(j->checksum_list_signature);
                if (!f->checksum_list || !f->checksum_list_signature)
                        return -ENOMEM;
        }
        return 0;
}
