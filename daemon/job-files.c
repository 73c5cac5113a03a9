/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's files: checking URLs and paths, adding files, the byte counters. */
#include <curl/curl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "job-record.h"
#include "manager-internal.h"
#include "url-strip.h"
#include "util.h"

JobCounts job_counts(const Job *j) {
        JobCounts c = { .bytes_total = 0 };

        assert(j);

        for (size_t i = 0; i < j->n_files; i++) {
                const JobFile *f = j->files[i];

                if (f->bytes_total == UINT64_MAX)
                        c.bytes_total = UINT64_MAX;
                else if (c.bytes_total != UINT64_MAX)
                        c.bytes_total += f->bytes_total;
                c.bytes_transferred += f->bytes_transferred;
                c.files_transferred += f->completed;
        }
        return c;
}

FsDir job_file_dir(const JobFile *f) {
        assert(f);

        return (FsDir) { .path = f->dir, .dev = f->dir_dev, .ino = f->dir_ino };
}

/* libcurl is lenient: it takes "http:///etc/passwd" for "http://etc/passwd" and "http:/x" for
 * "http://x". The contract wants "scheme://" followed by a host, as written. */
static bool url_names_host(const char *url, const char *scheme) {
        const char *authority, *host;
        size_t n;

        if (strncasecmp(url, scheme, strlen(scheme)) != 0 || strncmp(url + strlen(scheme), "://", 3) != 0)
                return false;
        authority = url + strlen(scheme) + 3;
        n = strcspn(authority, "/?#");
        host = authority;
        for (size_t i = 0; i < n; i++)
                if (authority[i] == '@')
                        host = authority + i + 1;
        return host < authority + n && *host != ':';
}

static void curl_url_cleanupp(CURLU **h) {
        curl_url_cleanup(*h);
}

static void curl_freep(char **s) {
        curl_free(*s);
}

int job_files_validate_url(Manager *m, const char *url, CallError *e) {
        _cleanup_(curl_url_cleanupp) CURLU *h = NULL;
        _cleanup_(curl_freep) char *scheme = NULL, *host = NULL;
        char shown[512];

        assert(m);
        assert(url);

        if (strlen(url) > m->config.max_url_length)
                return call_error_set(e, -ENAMETOOLONG, CALL_ERROR_STRING_TOO_LONG,
                                      "The URL is %zu characters long; at most %zu are allowed.",
                                      strlen(url), m->config.max_url_length);
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                              "The URL contains a space or control character; percent-encode it.");

        h = curl_url();
        if (!h)
                return -ENOMEM;
        /* Messages name the URL without what may be a credential (made only for a message: it
         * cost a valid URL's check a fifth more). */
        if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
            curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "'%s' is not a valid URL; expected http://host/path or https://host/path.",
                                      url_strip(shown, sizeof shown, url));
        if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
                return call_error_set(e, -EPROTONOSUPPORT, CALL_ERROR_UNSUPPORTED_PROTOCOL,
                                      "The URL scheme '%s' is not supported; only http and https URLs can be "
                                      "transferred.", scheme);
        if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || isempty(host) || !url_names_host(url, scheme))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_ARGS,
                                      "The URL '%s' has no host name; expected http://host/path or https://host/path.",
                                      url_strip(shown, sizeof shown, url));
        return 0;
}

/* The destination directory checked last within one AddFiles call: the files of one
 * directory share one check. Its fd is kept in `kept`: the call's own, or the batch's, so
 * that the Download calls of one batch share an open directory, each call checking it again
 * (fs_dir_check_directory()) unless one of the same iteration of the loop did (`epoch`). */
typedef struct DirCheck {
        char *path;
        dev_t dev;
        ino_t ino;
        FsDirCheck *kept;
        uint64_t epoch;
} DirCheck;

static void dir_check_done(DirCheck *c) {
        c->path = mfree(c->path);
}

/* ".NAME.xferd-ID-INDEX": a file's temporary name beside its destination. Not asprintf(), which
 * took 1 600 instructions of a Download call. */
static char *temp_name_new(const char *name, const char *id, size_t index) {
        static const char middle[] = ".xferd-";
        size_t a = strlen(name), b = strlen(id);
        char *s, *p;

        if (index > UINT32_MAX) {
                if (asprintf(&s, ".%s.xferd-%s-%zu", name, id, index) < 0)
                        return NULL;
                return s;
        }
        p = s = malloc(1 + a + sizeof middle - 1 + b + 1 + DECIMAL_U32_MAX);
        if (!s)
                return NULL;
        *p++ = '.';
        p = mempcpy(p, name, a);
        p = mempcpy(p, middle, sizeof middle - 1);
        p = mempcpy(p, id, b);
        *p++ = '-';
        (void) decimal_u32(p, (uint32_t) index);
        return s;
}

static int file_new(Job *j, const char *url, const char *path, const JobFileOptions *options, size_t index,
                    DirCheck *check, JobFile **ret, CallError *e) {
        _cleanup_free_ char *copy1 = NULL, *copy2 = NULL, *temp_name = NULL;
        JobFile *f;
        dev_t dev;
        ino_t ino;
        int r;

        r = job_files_validate_url(j->manager, url, e);
        if (r < 0)
                return r;

        size_t len = strlen(path);
        if (len >= PATH_MAX)
                return call_error_set(e, -ENAMETOOLONG, CALL_ERROR_STRING_TOO_LONG,
                                      "The local path is %zu characters long; at most %d are allowed.", len, PATH_MAX - 1);
        if (path[0] != '/')
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_PATH,
                                      "The local path '%s' is not absolute; give the full path starting with '/'.", path);
        if (path[len - 1] == '/')
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_PATH,
                                      "The local path '%s' names a directory; give the path of the file to write.", path);

        copy1 = strdup(path);
        copy2 = strdup(path);
        if (!copy1 || !copy2)
                return -ENOMEM;
        const char *dir = dirname(copy1), *name = basename(copy2);
        if (streq(name, ".") || streq(name, ".."))
                return call_error_set(e, -EINVAL, CALL_ERROR_INVALID_PATH,
                                      "The local path '%s' does not name a file.", path);
        if (strlen(name) > 200)
                return call_error_set(e, -ENAMETOOLONG, CALL_ERROR_INVALID_PATH,
                                      "The file name '%s' is too long; at most 200 bytes are allowed.", name);

        struct stat st;
        uint64_t size = UINT64_MAX;
        if (j->type == JOB_UPLOAD) {
                /* The file to send: it must be there now, and readable by the owner. */
                _cleanup_close_ int fd = fsops_open_source(&j->identity, dir, name, &dev, &ino, &st);
                if (fd < 0)
                        return call_error_set(e, fd, CALL_ERROR_INVALID_PATH,
                                              fd == -ENOENT ? "%s does not exist." :
                                              fd == -EBADFD ? "%s is not a regular file." :
                                              fd == -EACCES || fd == -EPERM ? "%s is not readable by the job's owner." :
                                              "%s cannot be read.", path);
                size = (uint64_t) st.st_size;
                goto make;
        }

        FsNameLookup lookup = { .name = name };
        if (check->path && streq(check->path, dir)) {
                dev = check->dev;
                ino = check->ino;
                FsDir d = { .path = dir, .dev = dev, .ino = ino };
                lookup.r = fs_dir_check_stat(check->kept, &j->identity, &d, name, &lookup.st);
        } else {
                r = fs_dir_check_directory(check->kept, &j->identity, dir, check->epoch, &lookup, &dev, &ino);
                if (r < 0)
                        return call_error_set(e, r, CALL_ERROR_INVALID_PATH,
                                              r == -ENOENT ? "The directory %s does not exist; create it first." :
                                              r == -ENOTDIR ? "%s is not a directory." :
                                              r == -EACCES || r == -EPERM || r == -EROFS ?
                                              "The directory %s is not writable by the job's owner." :
                                              "The directory %s cannot be used.", dir);
                if (free_and_strdup(&check->path, dir) >= 0) {
                        check->dev = dev;
                        check->ino = ino;
                }
        }
        if (lookup.r == -EBADFD && S_ISDIR(lookup.st.st_mode))
                return call_error_set(e, -EISDIR, CALL_ERROR_INVALID_PATH,
                                      "%s is a directory; give the path of the file to write.", path);

make:
        temp_name = temp_name_new(name, j->id, index);
        if (!temp_name)
                return -ENOMEM;
        f = job_file_new(url, path, dir, name, temp_name);
        if (!f)
                return -ENOMEM;
        f->dir_dev = dev;
        f->dir_ino = ino;
        f->bytes_total = size;
        r = file_options_apply(j, f, options, e);
        if (r < 0) {
                job_file_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

static bool job_has_path(const Job *j, const char *path) {
        for (size_t i = 0; i < j->n_files; i++)
                if (streq(j->files[i]->path, path))
                        return true;
        return false;
}

/* Beyond this many paths (the job's and the call's) a call's duplicates are found with a map:
 * comparing each new path with every other one was 500 000 comparisons for 1000 files. */
#define PATHS_MAPPED_MIN 64

/* The job's paths in a map, with room for n more; NULL without memory. */
static Hashmap *job_paths_map(const Job *j, size_t n) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();

        if (!h || hashmap_reserve(h, j->n_files + n) < 0)
                return NULL;
        for (size_t i = 0; i < j->n_files; i++)
                (void) hashmap_put(h, j->files[i]->path, j->files[i]);
        return TAKE_PTR(h);
}

/* Whether paths[k] is already the job's or an earlier one of the call's (added to seen, when
 * there is a map). */
static bool path_taken(const Job *j, Hashmap *seen, char * const *paths, size_t k) {
        if (seen)
                return hashmap_put(seen, paths[k], (void *) paths[k]) == -EEXIST;
        if (job_has_path(j, paths[k]))
                return true;
        for (size_t i = 0; i < k; i++)
                if (streq(paths[i], paths[k]))
                        return true;
        return false;
}

size_t job_files_room(const Job *j) {
        assert(j);

        if (j->type == JOB_UPLOAD)
                return j->n_files < 1 ? 1 - j->n_files : 0;
        if (j->owner == 0)
                return SIZE_MAX;
        return j->n_files < j->manager->config.max_files_per_job ? j->manager->config.max_files_per_job - j->n_files : 0;
}

int job_add_files(Job *j, char * const *urls, char * const *paths, size_t n, CallError *e) {
        return job_add_files_with_options(j, urls, paths, NULL, n, e);
}

int job_add_files_with_options(Job *j, char * const *urls, char * const *paths, const JobFileOptions *options,
                               size_t n, CallError *e) {
        Manager *m = j->manager;
        JobFile **added;
        _cleanup_(fs_dir_check_done) FsDirCheck own = FS_DIR_CHECK_INIT;
        DirCheck check = { .kept = m->batch ? &m->dir_check : &own };
        uint64_t iteration;
        size_t k = 0;
        int r;

        assert(j);
        assert(urls || n == 0);
        assert(paths || n == 0);

        r = job_check_not_final(j, "its file list", e);
        if (r < 0)
                return r;
        /* The batch's calls that the bus reads in one iteration (a burst) share a check. */
        if (m->batch && sd_event_get_iteration(m->event, &iteration) >= 0)
                check.epoch = iteration + 1;
        /* A Complete under way decided which files it moves; the job is final once it ends. */
        if (j->completing)
                return call_error_set(e, -EBUSY, CALL_ERROR_INVALID_STATE,
                                      "Job %s is being completed: no file can be added any more.", j->id);
        if (n == 0)
                return 0;
        if (j->type == JOB_UPLOAD && j->n_files + n > 1)
                return call_error_set(e, -E2BIG, CALL_ERROR_TOO_MANY_FILES,
                                      "An upload job holds exactly one file; create another job for more.");
        if (j->owner != 0 && j->n_files + n > m->config.max_files_per_job)
                return call_error_set(e, -E2BIG, CALL_ERROR_TOO_MANY_FILES,
                                      "A job may hold at most %u files (MaxFilesPerJob= in xferd.conf); this one has "
                                      "%zu, so at most %zu more can be added.",
                                      m->config.max_files_per_job, j->n_files, job_files_room(j));

        added = calloc(n, sizeof *added);
        if (!added)
                return -ENOMEM;
        _cleanup_(hashmap_freep) Hashmap *seen = NULL;
        if (j->n_files + n >= PATHS_MAPPED_MIN) {
                seen = job_paths_map(j, n);
                if (!seen) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        /* All or nothing: check every file before the job changes. */
        for (k = 0; k < n; k++) {
                if (path_taken(j, seen, paths, k)) {
                        r = call_error_set(e, -EEXIST, CALL_ERROR_INVALID_PATH,
                                           "The job already writes to %s; every file needs its own local path.", paths[k]);
                        goto fail;
                }
                r = file_new(j, urls[k], paths[k], options ? &options[k] : NULL, j->n_files + k, &check, &added[k], e);
                if (r < 0)
                        goto fail;
        }
        dir_check_done(&check);

        if (j->n_files_allocated == 0 && n > 0) {
                /* A job's first files get a block of their size: most jobs have one file, and
                 * 100 000 queued jobs would each keep room for 16. */
                JobFile **v = reallocarray(j->files, n, sizeof *v);
                r = v ? 0 : -ENOMEM;
                if (v) {
                        j->files = v;
                        j->n_files_allocated = n;
                }
        } else
                r = array_reserve((void **) &j->files, &j->n_files_allocated, j->n_files + n, sizeof(JobFile *));
        if (r < 0)
                goto fail;
        memcpy(j->files + j->n_files, added, n * sizeof *added);
        j->n_files += n;

        /* Stored with the files (job_apply stores the whole job for this event); a store that
         * refuses them leaves the job without them. */
        r = job_apply(j, JOB_EVENT_ADD_FILES, e);
        if (r < 0) {
                j->n_files -= n;
                goto fail;
        }
        free(added);
        manager_notify_changed(j, JOB_CHANGE_FILES | JOB_CHANGE_PROGRESS);
        /* A running download with room for more files in flight takes the new ones now. */
        if (j->type == JOB_DOWNLOAD && job_state_is_active(j->state) && j->lanes &&
            j->n_lanes < j->max_concurrent_files)
                download_start(j);
        return 0;

fail:
        dir_check_done(&check);
        for (size_t i = 0; i < k; i++)
                job_file_free(added[i]);
        free(added);
        return r;
}
