/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Acting as a job's owner on the file system: the owner's identity (uid, gid, groups), and the
 * switch of the calling thread's file-system credentials to it and back. */
#include <assert.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdatomic.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>

#include "fs-identity.h"
#include "log.h"
#include "util.h"

/* Why setfsuid/setfsgid plus the raw setgroups syscall, rather than a worker process per
 * owner: each only changes the credentials the kernel uses for file-system checks of the
 * calling thread, costs one system call, and needs no IPC on the hot path. The daemon's own
 * code runs in one thread; glibc's setgroups() would broadcast to every thread (curl's
 * resolver threads included), the raw syscall does not. */

/* The daemon's own uid never changes; asked once, not before every file operation. Atomic:
 * the threads of the pools ask too. */
bool fs_identity_daemon_is_root(void) {
        static atomic_int cached = -1;
        int v = atomic_load_explicit(&cached, memory_order_relaxed);

        if (v < 0) {
                v = geteuid() == 0;
                atomic_store_explicit(&cached, v, memory_order_relaxed);
        }
        return v;
}

static bool need_switch(const FsIdentity *id) {
        return id && id->uid != 0 && fs_identity_daemon_is_root();
}

/* On 32-bit x86 and ARM the call named setgroups takes 16-bit ids; setgroups32 takes gid_t. */
#ifdef SYS_setgroups32
#  define SETGROUPS_SYSCALL SYS_setgroups32
#else
#  define SETGROUPS_SYSCALL SYS_setgroups
#endif

/* Capabilities of this thread only: the raw system calls, never libcap's process-wide
 * helpers, so that a thread that writes files never changes what another thread may do. */
static int caps_get(struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

        return syscall(SYS_capget, &h, data) < 0 ? -errno : 0;
}

static int caps_set(const struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

        return syscall(SYS_capset, &h, data) < 0 ? -errno : 0;
}

/* setfsuid() to a non-root uid drops only the file-system capabilities (CAP_DAC_OVERRIDE,
 * CAP_FOWNER, …) from the effective set. Others still act on a write: CAP_SYS_RESOURCE lets
 * it use the blocks reserved for root and pass the owner's quota, CAP_SYS_ADMIN more. Acting
 * as the owner needs none of them, so the whole effective set goes; the permitted set stays,
 * so they come back when the thread acts as the daemon again. */
static int caps_drop_effective(FsSaved *saved) {
        struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
        int r;

        r = caps_get(saved->caps);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(none); i++)
                none[i] = (struct __user_cap_data_struct) {
                        .effective = 0,
                        .permitted = saved->caps[i].permitted,
                        .inheritable = saved->caps[i].inheritable,
                };
        r = caps_set(none);
        if (r < 0)
                return r;
        saved->caps_dropped = true;
        return 0;
}

static void identity_restore(FsSaved *saved) {
        /* The capabilities first: setgroups() needs CAP_SETGID in the effective set. */
        if (saved->caps_dropped && caps_set(saved->caps) < 0)
                log_error_errno(errno, "Failed to restore the daemon's capabilities");
        saved->caps_dropped = false;
        setfsuid(0);
        setfsgid(0);
        if (syscall(SETGROUPS_SYSCALL, (size_t) saved->n_groups, saved->groups) < 0)
                log_error_errno(errno, "Failed to restore supplementary groups");
}

static int identity_enter(const FsIdentity *id, FsSaved *saved) {
        int r;

        *saved = (FsSaved) { .switched = false };
        if (!need_switch(id))
                return 0;

        int n = getgroups((int) ELEMENTSOF(saved->groups), saved->groups);
        if (n < 0)
                return -errno;
        saved->n_groups = n;

        if (syscall(SETGROUPS_SYSCALL, (size_t) id->n_groups, id->groups) < 0)
                return -errno;
        setfsgid(id->gid);
        setfsuid(id->uid);
        /* setfsuid() reports no errors; asking again is how to know it took. */
        if ((uid_t) setfsuid((uid_t) -1) != id->uid || (gid_t) setfsgid((gid_t) -1) != id->gid) {
                identity_restore(saved);
                return -EPERM;
        }
        r = caps_drop_effective(saved);
        if (r < 0) {
                identity_restore(saved);
                return r;
        }
        saved->switched = true;
        return 0;
}

void fs_identity_leave(FsSaved *saved) {
        assert(saved);

        if (!saved->switched)
                return;
        int e = errno;
        identity_restore(saved);
        saved->switched = false;
        errno = e;
}

int fs_identity_enter(const FsIdentity *id, FsSaved *saved) {
        int r;

        assert(saved);

        r = identity_enter(id, saved);
        if (r < 0)
                return log_error_errno(r, "Cannot act as uid %u", (unsigned) id->uid);
        return 0;
}

int fs_identity_load(uid_t uid, FsIdentity *ret) {
        struct passwd pw, *result = NULL;
        char buf[4096];
        int n = 16;

        assert(ret);

        /* A uid without a passwd entry acts with the overflow group ("nogroup") and no
         * supplementary groups: never with some unrelated group that happens to share its
         * number. */
        *ret = (FsIdentity) { .uid = uid, .gid = (gid_t) 65534 };
        /* Never switched to (root's jobs, or a daemon that is not root: a per-user xferd acts
         * as its user anyway): no need to read the user and group databases for every job. */
        if (!need_switch(ret))
                return 0;
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &result) != 0 || !result)
                return 0;
        ret->gid = pw.pw_gid;

        for (;;) {
                _cleanup_free_ gid_t *groups = calloc((size_t) n, sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                int m = n;
                if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &m) >= 0) {
                        ret->groups = TAKE_PTR(groups);
                        ret->n_groups = m;
                        return 0;
                }
                if (m <= n)
                        return -EIO;
                n = m;
        }
}

int fs_identity_from_groups(uid_t uid, const gid_t *groups, size_t n_groups, FsIdentity *ret) {
        struct passwd pw, *result = NULL;
        char buf[4096];

        assert(groups || n_groups == 0);
        assert(ret);

        if (n_groups > INT_MAX)
                return -E2BIG;
        *ret = (FsIdentity) { .uid = uid, .gid = (gid_t) 65534 };
        if (!need_switch(ret))
                return 0;  /* never switched to, as in fs_identity_load() */
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result)
                for (size_t i = 0; i < n_groups; i++)
                        if (groups[i] == pw.pw_gid)
                                ret->gid = pw.pw_gid;
        if (n_groups > 0) {
                ret->groups = calloc(n_groups, sizeof(gid_t));
                if (!ret->groups)
                        return -ENOMEM;
                memcpy(ret->groups, groups, n_groups * sizeof(gid_t));
        }
        ret->n_groups = (int) n_groups;
        return 0;
}

void fs_identity_done(FsIdentity *id) {
        assert(id);

        id->groups = mfree(id->groups);
        id->n_groups = 0;
}

int fs_identity_copy(const FsIdentity *from, FsIdentity *to) {
        assert(from);
        assert(to);

        *to = (FsIdentity) { .uid = from->uid, .gid = from->gid };
        if (from->n_groups > 0) {
                to->groups = calloc((size_t) from->n_groups, sizeof(gid_t));
                if (!to->groups)
                        return -ENOMEM;
                memcpy(to->groups, from->groups, (size_t) from->n_groups * sizeof(gid_t));
        }
        to->n_groups = from->n_groups;
        return 0;
}

/* Same uid, gid and groups: the same permission checks on the way to a directory. */
bool fs_identity_equal(const FsIdentity *a, const FsIdentity *b) {
        if (a == b)
                return true;
        if (!a || !b)
                return false;
        return a->uid == b->uid && a->gid == b->gid && a->n_groups == b->n_groups &&
               (a->n_groups == 0 || memcmp(a->groups, b->groups, (size_t) a->n_groups * sizeof(gid_t)) == 0);
}
