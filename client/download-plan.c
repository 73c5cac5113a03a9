/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download-plan.h"
#include "path-util.h"
#include "report.h"
#include "text.h"
#include "util.h"

void download_plan_done(DownloadPlan *p) {
        assert(p);

        for (size_t i = 0; i < p->n; i++) {
                free(p->targets[i].url);
                free(p->targets[i].local);
        }
        free(p->targets);
        *p = (DownloadPlan) { 0 };
}

int download_list_parse(const char *text, char ***urls, size_t *n) {
        const char *line = text;

        assert(text);
        assert(urls);
        assert(n);
        while (*line) {
                size_t len = strcspn(line, "\n");
                const char *s = line, *e = line + len;
                int r;

                while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
                        s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                        e--;
                if (e > s && *s != '#') {
                        r = strv_consume(urls, strndup(s, (size_t) (e - s)));
                        if (r < 0)
                                return r;
                        (*n)++;
                }
                line += len + (line[len] == '\n');
        }
        return 0;
}

int download_arg_is_url(const char *s) {
        const char *p = strstr(s, "://");

        assert(s);

        /* A scheme is letters first; "./a://b" is a path. */
        if (!p || p == s)
                return 0;
        for (const char *q = s; q < p; q++)
                if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                      (q > s && ((*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.'))))
                        return 0;
        return 1;
}

static int plan_add(DownloadPlan *p, const char *url, const char *dest) {
        DownloadTarget *t;
        char *local = NULL;
        int r;

        r = path_download_target(url, dest, &local);
        if (r < 0)
                return -EINVAL;
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->targets[i].local, local)) {
                        report_error(-EINVAL, "two URLs would both be saved as %s: download them one at a time, or give each its path",
                                     local);
                        free(local);
                        return -EINVAL;
                }

        if (array_reserve((void **) &p->targets, &p->allocated, p->n + 1, sizeof *t) < 0) {
                free(local);
                return report_error(-ENOMEM, "out of memory");
        }
        t = p->targets;
        t[p->n] = (DownloadTarget) { strdup(url), local };
        p->n++;
        if (!t[p->n - 1].url)
                return report_error(-ENOMEM, "out of memory");
        return 0;
}

int download_plan_make(char *const *args, size_t n_args, char *const *list, size_t n_list, const char *output,
                       DownloadPlan *ret) {
        _cleanup_free_ char *dir = NULL;
        DownloadPlan p = { 0 };
        const char *dest = output;
        size_t n_urls = n_list;
        int r = 0;

        assert(ret);
        /* Without -o a last argument that is not a URL is the destination (download URL PATH). */
        if (!dest && n_args >= 2 && !download_arg_is_url(args[n_args - 1]))
                dest = args[--n_args];
        for (size_t i = 0; i < n_args; i++) {
                if (!download_arg_is_url(args[i])) {
                        _cleanup_free_ char *safe = text_sanitize(args[i]);
                        return report_error(-EINVAL, "\"%s\" is not a URL (such as https://example.org/file); the destination is the last argument or -o PATH",
                                            safe ? safe : args[i]);
                }
                n_urls++;
        }
        if (n_urls == 0)
                return report_error(-EINVAL, "no URL to download given");

        /* Several URLs go into a directory; one may go to a file. */
        if (!dest)
                dest = "./";
        else if (n_urls > 1) {
                if (asprintf(&dir, "%s/", dest) < 0)
                        return report_error(-ENOMEM, "out of memory");
                dest = dir;
        }

        for (size_t i = 0; r >= 0 && i < n_args; i++)
                r = plan_add(&p, args[i], dest);
        for (size_t i = 0; r >= 0 && i < n_list; i++) {
                if (!download_arg_is_url(list[i])) {
                        _cleanup_free_ char *safe = text_sanitize(list[i]);
                        r = report_error(-EINVAL, "\"%s\" in the list of URLs is not a URL", safe ? safe : list[i]);
                        break;
                }
                r = plan_add(&p, list[i], dest);
        }
        if (r < 0) {
                download_plan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}
