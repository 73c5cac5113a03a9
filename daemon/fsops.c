/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "fsops.h"
#include "log.h"
#include "util.h"

/* Why setfsuid/setfsgid plus the raw setgroups syscall, rather than a worker process per
 * owner: each only changes the credentials the kernel uses for file-system checks of the
 * calling thread, costs one system call, and needs no IPC on the hot path. The daemon's own
 * code runs in one thread; glibc's setgroups() would broadcast to every thread (curl's
 * resolver threads included), the raw syscall does not. */

typedef struct FsSaved {
        bool switched;
        bool caps_dropped;
        struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
        int n_groups;
        gid_t groups[64];
} FsSaved;

/* The daemon's own uid never changes; asked once, not before every file operation. */
static bool daemon_is_root(void) {
        static int cached = -1;

        if (cached < 0)
                cached = geteuid() == 0;
        return cached;
}

static bool need_switch(const FsIdentity *id) {
        return id && id->uid != 0 && daemon_is_root();
}

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
        if (syscall(SYS_setgroups, (size_t) saved->n_groups, saved->groups) < 0)
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

        if (syscall(SYS_setgroups, (size_t) id->n_groups, id->groups) < 0)
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

static void identity_leave(FsSaved *saved) {
        if (!saved->switched)
                return;
        int e = errno;
        identity_restore(saved);
        saved->switched = false;
        errno = e;
}

/* Acts as `id` until identity_leave(), which the caller's _cleanup_ runs on every return. */
static int identity_enter_logged(const FsIdentity *id, FsSaved *saved) {
        int r = identity_enter(id, saved);
        if (r < 0)
                return log_error_errno(r, "Cannot act as uid %u", (unsigned) id->uid);
        return 0;
}

uint64_t disk_reserve_bytes(const DiskReserve *r, uint64_t size) {
        uint64_t by_percent = UINT64_MAX, bytes = UINT64_MAX;

        assert(r);

        if (r->bytes == 0 && r->percent == 0)
                return 0;
        if (r->bytes > 0)
                bytes = r->bytes;
        if (r->percent > 0)
                /* Without overflow for any size. */
                by_percent = size / 100 * r->percent + size % 100 * r->percent / 100;
        return bytes < by_percent ? bytes : by_percent;
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

/* Opens the directory at the path `dir` as `id` (until the caller's _cleanup_ of *saved) and
 * gives its device and inode; check_access: only if the owner may create files in it. */
static int directory_open_as(const FsIdentity *id, const char *dir, bool check_access, FsSaved *saved,
                             dev_t *ret_dev, ino_t *ret_ino) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = identity_enter_logged(id, saved);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        /* Checked with the owner's file-system identity (AT_EACCESS uses fsuid/fsgid). */
        if (check_access && faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
                return -errno;

        *ret_dev = st.st_dev;
        *ret_ino = st.st_ino;
        return TAKE_FD(fd);
}

int fsops_check_directory(const FsIdentity *id, const char *dir, dev_t *ret_dev, ino_t *ret_ino) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        _cleanup_close_ int fd = -1;

        assert(dir);
        assert(ret_dev);
        assert(ret_ino);

        fd = directory_open_as(id, dir, true, &saved, ret_dev, ret_ino);
        return fd < 0 ? fd : 0;
}

static dev_t statx_dev(const struct statx *stx) {
        return makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

void fs_dir_check_done(FsDirCheck *c) {
        assert(c);

        c->fd = safe_close(c->fd);
        c->path = mfree(c->path);
        fs_identity_done(&c->id);
}

static int identity_copy(const FsIdentity *from, FsIdentity *to) {
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

static bool identity_equal(const FsIdentity *a, const FsIdentity *b);

/* The kept directory still is what a fresh check would find: the path, looked up as the
 * owner now, leads to the same directory on the same mount, and the owner may still list,
 * create in and enter it (asked of the kernel now, on the kept fd). */
static bool dir_check_still(const FsDirCheck *c, const char *dir) {
        struct statx stx;

        if (statx(AT_FDCWD, dir, 0, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) < 0 ||
            !(stx.stx_mask & STATX_MNT_ID) || !S_ISDIR(stx.stx_mode) || statx_dev(&stx) != c->dev ||
            stx.stx_ino != c->ino || stx.stx_mnt_id != c->mnt_id)
                return false;
        return faccessat(c->fd, ".", R_OK | W_OK | X_OK, AT_EACCESS) >= 0;
}

/* The regular file `name` in dfd, as stat_regular_at() looks it up. */
static void name_lookup_at(int dfd, FsNameLookup *lookup) {
        if (lookup)
                lookup->r = fstatat(dfd, lookup->name, &lookup->st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno :
                            S_ISREG(lookup->st.st_mode) ? 0 : -EBADFD;
}

int fsops_check_directory_kept(FsDirCheck *c, const FsIdentity *id, const char *dir, FsNameLookup *lookup,
                               dev_t *ret_dev, ino_t *ret_ino) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        _cleanup_close_ int fd = -1;
        struct statx stx;
        int r;

        assert(c);
        assert(id);
        assert(dir);
        assert(!lookup || lookup->name);
        assert(ret_dev);
        assert(ret_ino);

        /* One switch to the owner for the check and the name's look-up. */
        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;
        if (c->fd >= 0 && streq(c->path, dir) && identity_equal(&c->id, id) && dir_check_still(c, dir)) {
                *ret_dev = c->dev;
                *ret_ino = c->ino;
                name_lookup_at(c->fd, lookup);
                return 0;
        }
        fs_dir_check_done(c);

        /* As fsops_check_directory(), with the mount the fd is on. */
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) < 0)
                return -errno;
        if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
                return -errno;

        *ret_dev = statx_dev(&stx);
        *ret_ino = stx.stx_ino;
        name_lookup_at(fd, lookup);
        /* Kept only where the mount is known: else every check is a fresh one. */
        if (!(stx.stx_mask & STATX_MNT_ID))
                return 0;
        c->path = strdup(dir);
        if (!c->path || identity_copy(id, &c->id) < 0) {
                fs_dir_check_done(c);
                return 0;
        }
        c->dev = *ret_dev;
        c->ino = *ret_ino;
        c->mnt_id = stx.stx_mnt_id;
        c->fd = TAKE_FD(fd);
        return 0;
}

int fsops_dir_check_stat(const FsDirCheck *c, const FsIdentity *id, const FsDir *dir, const char *name,
                         struct stat *ret_st) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        int r;

        assert(c);
        assert(dir);
        assert(name);
        assert(ret_st);

        if (c->fd < 0 || !streq(c->path, dir->path) || c->dev != dir->dev || c->ino != dir->ino ||
            !identity_equal(&c->id, id))
                return fsops_stat_regular(id, dir, NULL, name, ret_st);
        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;
        if (fstatat(c->fd, name, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return S_ISREG(ret_st->st_mode) ? 0 : -EBADFD;
}

static int open_directory_unlocked(const FsDir *dir) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = open(dir->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                /* Not ours to open any more: if the path now leads elsewhere (the directory
                 * was moved or swapped for a link), say so, so that callers do not wait
                 * forever for a directory that is not there. */
                if ((e == EACCES || e == EPERM || e == ENOTDIR) && stat(dir->path, &st) >= 0 &&
                    (st.st_dev != dir->dev || st.st_ino != dir->ino))
                        return -ESTALE;
                return -e;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_dev != dir->dev || st.st_ino != dir->ino)
                return -ESTALE;
        return TAKE_FD(fd);
}

/* Opens an existing regular file in dfd: never through a symlink (ELOOP), and with
 * O_NONBLOCK so that a FIFO planted there cannot block the loop before fstat() refuses it;
 * -EBADFD for anything but a regular file. blocking: clear O_NONBLOCK again (for reading
 * or writing data). */
static int open_regular_at(int dfd, const char *name, int flags, bool blocking, struct stat *ret_st) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -EBADFD : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (blocking) {
                int fl = fcntl(fd, F_GETFL);
                if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
                        return -errno;
        }
        if (ret_st)
                *ret_st = st;
        return TAKE_FD(fd);
}

static int open_source_at(int dfd, const char *name, struct stat *ret_st) {
        return open_regular_at(dfd, name, O_RDONLY, true, ret_st);
}

int fsops_open_source(const FsIdentity *id, const char *dir, const char *name,
                      dev_t *ret_dev, ino_t *ret_ino, struct stat *ret_st) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        _cleanup_close_ int dfd = -1;

        assert(dir);
        assert(name);
        assert(ret_dev);
        assert(ret_ino);
        assert(ret_st);

        dfd = directory_open_as(id, dir, false, &saved, ret_dev, ret_ino);
        if (dfd < 0)
                return dfd;
        return open_source_at(dfd, name, ret_st);
}

void fs_dir_cache_done(FsDirCache *c) {
        assert(c);

        c->fd = safe_close(c->fd);
}

/* Same uid, gid and groups: the same permission checks on the way to a directory. */
static bool identity_equal(const FsIdentity *a, const FsIdentity *b) {
        if (a == b)
                return true;
        if (!a || !b)
                return false;
        return a->uid == b->uid && a->gid == b->gid && a->n_groups == b->n_groups &&
               (a->n_groups == 0 || memcmp(a->groups, b->groups, (size_t) a->n_groups * sizeof(gid_t)) == 0);
}

/* The directory's fd: the cached one when it is the same directory for the same identity,
 * else newly opened and checked (kept in the cache, or handed over in *ret_owned to close). */
static int dir_acquire(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, int *ret_owned) {
        int fd;

        *ret_owned = -1;
        if (cache && cache->fd >= 0 && identity_equal(cache->identity, id) && cache->dev == dir->dev &&
            cache->ino == dir->ino)
                return cache->fd;
        fd = open_directory_unlocked(dir);
        if (fd < 0)
                return fd;
        if (!cache)
                return *ret_owned = fd;
        safe_close(cache->fd);
        *cache = (FsDirCache) { .identity = id, .dev = dir->dev, .ino = dir->ino, .fd = fd };
        return fd;
}

/* What an operation in a checked directory is given, besides the directory's fd: the names
 * and values of its call. */
typedef struct DirOp {
        const FsIdentity *id;
        const char *name;
        const char *final_name;
        mode_t mode;
        struct stat *ret_st;
        bool gone_ok;  /* the directory gone or replaced is no error: nothing of ours is in it */
} DirOp;

/* Every operation inside a checked directory runs here: as `id`, with the directory's fd as
 * dir_acquire() gives it; the identity is left and an fd opened for the call closed on return. */
static int dir_run(const FsIdentity *id, const FsDir *dir, FsDirCache *cache,
                   int (*op)(int dfd, const DirOp *a), const DirOp *a) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        _cleanup_close_ int owned = -1;
        int dfd, r;

        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;
        dfd = dir_acquire(id, dir, cache, &owned);
        if (dfd == -ESTALE && a->gone_ok)
                log_notice("%s was moved or replaced since %s was created in it; "
                           "that temporary file is no longer reachable by its path.", dir->path, a->name);
        if ((dfd == -ENOENT || dfd == -ESTALE) && a->gone_ok)
                return 0;
        if (dfd < 0)
                return dfd;
        return op(dfd, a);
}

static int reopen_source_at(int dfd, const DirOp *a) {
        return open_source_at(dfd, a->name, a->ret_st);
}

int fsops_reopen_source(const FsIdentity *id, const FsDir *dir, const char *name, struct stat *ret_st) {
        assert(dir);
        assert(name);
        assert(ret_st);

        return dir_run(id, dir, NULL, reopen_source_at, &(DirOp) { .name = name, .ret_st = ret_st });
}

int fsops_open_directory(const FsIdentity *id, const FsDir *dir) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        int r;

        assert(dir);

        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;
        /* Never the cached fd: the caller keeps this one. */
        return open_directory_unlocked(dir);
}

static int create_temporary_at(int dfd, const DirOp *a) {
        /* Read as well: the bytes written are read back to be hashed (hash-stream.c). */
        int fd = openat(dfd, a->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

        return fd < 0 ? -errno : fd;
}

int fsops_create_temporary(const FsIdentity *id, const FsDir *dir, const char *name) {
        assert(dir);
        assert(name);

        return dir_run(id, dir, NULL, create_temporary_at, &(DirOp) { .name = name });
}

static int open_temporary_at(int dfd, const DirOp *a) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* Read as well: the bytes held are hashed while a download goes on with them. */
        fd = open_regular_at(dfd, a->name, O_RDWR, true, &st);
        if (fd < 0)
                return fd;
        if (a->id && st.st_uid != a->id->uid && daemon_is_root())
                return -EBADFD;
        if (a->ret_st)
                *a->ret_st = st;
        return TAKE_FD(fd);
}

int fsops_open_temporary(const FsIdentity *id, const FsDir *dir, const char *name, struct stat *ret_st) {
        assert(dir);
        assert(name);

        return dir_run(id, dir, NULL, open_temporary_at, &(DirOp) { .id = id, .name = name, .ret_st = ret_st });
}

static int stat_regular_at(int dfd, const DirOp *a) {
        if (fstatat(dfd, a->name, a->ret_st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return S_ISREG(a->ret_st->st_mode) ? 0 : -EBADFD;
}

int fsops_stat_regular(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *name,
                         struct stat *ret_st) {
        assert(dir);
        assert(name);
        assert(ret_st);

        return dir_run(id, dir, cache, stat_regular_at, &(DirOp) { .name = name, .ret_st = ret_st });
}

/* XFERD_TEST_STOP_POINT=write-as-owner: the daemon stops itself (SIGSTOP, once) while it
 * writes as an owner, so that a test can read its credentials from /proc and continue it. */
static void test_stop_point(const char *name) {
        static int armed = -1;

        if (armed < 0) {
                const char *want = getenv("XFERD_TEST_STOP_POINT");
                armed = want && streq(want, name);
        }
        if (armed > 0) {
                armed = 0;
                log_warning("Stop point '%s' reached: stopping myself as asked.", name);
                (void) raise(SIGSTOP);
        }
}

int fsops_write_at(const FsIdentity *id, int fd, const void *buf, size_t len, uint64_t offset,
                   size_t *ret_done) {
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };
        const char *p = buf;
        size_t done = 0;
        int r;

        assert(fd >= 0);
        assert(buf || len == 0);
        assert(ret_done);

        *ret_done = 0;
        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;
        if (saved.switched)
                test_stop_point("write-as-owner");

        while (done < len) {
                ssize_t k = pwrite(fd, p + done, len - done, (off_t) (offset + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        *ret_done = done;
                        return -errno;
                }
                done += (size_t) k;
        }
        *ret_done = done;
        return 0;
}

static int unlink_at(int dfd, const DirOp *a) {
        if (unlinkat(dfd, a->name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int fsops_unlink(const FsIdentity *id, const FsDir *dir, const char *name) {
        assert(dir);
        assert(name);

        return dir_run(id, dir, NULL, unlink_at, &(DirOp) { .name = name, .gone_ok = true });
}

static int open_finished_at(int dfd, const DirOp *a) {
        /* Only synced and given its mode: O_NONBLOCK may stay. */
        _cleanup_close_ int fd = open_regular_at(dfd, a->name, O_RDONLY, false, NULL);

        if (fd < 0)
                return fd;
        if (fchmod(fd, a->mode) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int fsops_open_finished(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                        mode_t mode) {
        assert(dir);
        assert(temp_name);

        return dir_run(id, dir, cache, open_finished_at, &(DirOp) { .name = temp_name, .mode = mode });
}

/* renameat() replaces whatever is at the final name, a symlink included, without following it. */
static int rename_at(int dfd, const DirOp *a) {
        return renameat(dfd, a->name, dfd, a->final_name) < 0 ? -errno : 0;
}

int fsops_rename(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                 const char *final_name) {
        assert(dir);
        assert(temp_name);
        assert(final_name);

        return dir_run(id, dir, cache, rename_at, &(DirOp) { .name = temp_name, .final_name = final_name });
}

static int sync_at(int dfd, const DirOp *a) {
        return fsync(dfd) < 0 ? -errno : 0;
}

int fsops_sync_directory(const FsIdentity *id, const FsDir *dir, FsDirCache *cache) {
        assert(dir);

        return dir_run(id, dir, cache, sync_at, &(DirOp) { .name = NULL });
}
