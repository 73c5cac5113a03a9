/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path-util.h"
#include "report.h"
#include "text.h"
#include "util.h"

/* Drops "." components and repeated slashes in place; keeps a trailing slash. */
static void path_simplify(char *p) {
        const char *in = p;
        char *out = p;

        while (*in) {
                if (in[0] == '/' && in[1] == '/') {
                        in++;
                        continue;
                }
                if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || in[2] == 0)) {
                        in += 2;
                        /* "/a/." names the directory: keep it recognisable as one. */
                        if (*in == 0)
                                *out++ = '/';
                        continue;
                }
                *out++ = *in++;
        }
        *out = 0;
}

int path_make_absolute(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        char *p;

        assert(path);
        assert(ret);

        if (isempty(path))
                return -EINVAL;

        if (path[0] == '/')
                p = strdup(path);
        else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
                if (asprintf(&p, "%s/%s", cwd, path) < 0)
                        p = NULL;
        }
        if (!p)
                return -ENOMEM;

        path_simplify(p);
        *ret = p;
        return 0;
}

/* The last path segment of a URL, without query and fragment; NULL when it has none. */
static char *url_file_name(const char *url) {
        const char *s, *end, *slash;
        size_t n;

        s = strstr(url, "://");
        s = s ? s + 3 : url;
        end = s + strcspn(s, "?#");
        slash = memchr(s, '/', (size_t) (end - s));
        if (!slash)
                return NULL;

        /* The last "/" before the query. */
        for (const char *q = slash; q < end; q++)
                if (*q == '/')
                        slash = q;
        n = (size_t) (end - slash - 1);
        if (n == 0 || (n == 1 && slash[1] == '.') || (n == 2 && slash[1] == '.' && slash[2] == '.'))
                return NULL;
        return strndup(slash + 1, n);
}

int path_make_absolute_or_report(const char *path, char **ret) {
        int r;

        assert(path);
        assert(ret);

        r = path_make_absolute(path, ret);
        if (r < 0)
                return report_bus_error(NULL, r, "cannot make \"%s\" an absolute path", path);
        return 0;
}

int path_download_target(const char *url, const char *path, char **ret) {
        _cleanup_free_ char *abs = NULL, *name = NULL;
        struct stat st;
        size_t n;
        int r;

        assert(url);
        assert(path);
        assert(ret);

        r = path_make_absolute_or_report(path, &abs);
        if (r < 0)
                return r;

        n = strlen(abs);
        if (abs[n - 1] != '/' && !(stat(abs, &st) == 0 && S_ISDIR(st.st_mode))) {
                *ret = TAKE_PTR(abs);
                return 0;
        }

        name = url_file_name(url);
        if (!name) {
                _cleanup_free_ char *safe = text_sanitize(url);
                return report_error(-EINVAL, "\"%s\" is a directory and the URL %s names no file; give the full destination path",
                                    path, safe ? safe : url);
        }
        if (asprintf(ret, "%s%s%s", abs, abs[n - 1] == '/' ? "" : "/", name) < 0)
                return report_error(-ENOMEM, "out of memory");
        return 0;
}

char *path_basename(const char *path) {
        const char *s;
        size_t n;

        assert(path);

        n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
                n--;
        s = path + n;
        while (s > path && s[-1] != '/')
                s--;
        return strndup(s, (size_t) (path + n - s));
}
