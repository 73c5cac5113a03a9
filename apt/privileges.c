/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privileges.h"
#include "util.h"

int privileges_drop(const char *user, const char **ret_what) {
        const struct passwd *pw;
        gid_t groups[1];

        assert(ret_what);

        *ret_what = NULL;
        /* Nothing gained by a setuid helper from here on, whoever we are. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 && errno != EINVAL) {
                *ret_what = "prctl(PR_SET_NO_NEW_PRIVS)";
                return -errno;
        }
        if (isempty(user) || streq(user, "root") || getuid() != 0)
                return 0;

        errno = 0;
        pw = getpwnam(user);
        if (!pw) {
                *ret_what = "looking up the sandbox user";
                return errno > 0 ? -errno : -ESRCH;
        }
        groups[0] = pw->pw_gid;
        if (setgroups(1, groups) < 0) {
                *ret_what = "setgroups";
                return -errno;
        }
        if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0) {
                *ret_what = "setresgid";
                return -errno;
        }
        if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
                *ret_what = "setresuid";
                return -errno;
        }
        /* As apt checks: all of uid, euid, gid, egid changed, and root cannot come back. */
        if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid ||
            getegid() != pw->pw_gid || (pw->pw_uid != 0 && setuid(0) == 0)) {
                *ret_what = "verifying the new identity";
                return -EPERM;
        }
        return 0;
}
