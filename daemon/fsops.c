/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>

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

static int identity_enter(const FsIdentity *id, FsSaved *saved) {
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
                setfsuid(0);
                setfsgid(0);
                (void) syscall(SYS_setgroups, (size_t) saved->n_groups, saved->groups);
                return -EPERM;
        }
        saved->switched = true;
        return 0;
}

static void identity_leave(FsSaved *saved) {
        if (!saved->switched)
                return;
        int e = errno;
        setfsuid(0);
        setfsgid(0);
        if (syscall(SYS_setgroups, (size_t) saved->n_groups, saved->groups) < 0)
                log_error_errno(errno, "Failed to restore supplementary groups");
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
                gid_t *groups = calloc((size_t) n, sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                int m = n;
                if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &m) >= 0) {
                        ret->groups = groups;
                        ret->n_groups = m;
                        return 0;
                }
                free(groups);
                if (m <= n)
                        return -EIO;
                n = m;
        }
}

void fs_identity_done(FsIdentity *id) {
        assert(id);

        id->groups = mfree(id->groups);
        id->n_groups = 0;
}

int fsops_check_directory(const FsIdentity *id, const char *dir, dev_t *ret_dev, ino_t *ret_ino) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(ret_dev);
        assert(ret_ino);

        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        /* Checked with the owner's file-system identity (AT_EACCESS uses fsuid/fsgid). */
        if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
                return -errno;

        *ret_dev = st.st_dev;
        *ret_ino = st.st_ino;
        return 0;
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

        fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -EBADFD : -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode))
                return -EBADFD;
        if (blocking) {
                int fl = fcntl(fd, F_GETFL);
                if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
                        return -errno;
        }
        return TAKE_FD(fd);
}

static int open_source_at(int dfd, const char *name, struct stat *ret_st) {
        return open_regular_at(dfd, name, O_RDONLY, true, ret_st);
}

int fsops_open_source(const FsIdentity *id, const char *dir, const char *name,
                      dev_t *ret_dev, ino_t *ret_ino, struct stat *ret_st) {
        _cleanup_close_ int dfd = -1;
        struct stat dst;
        int r;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(name);
        assert(ret_dev);
        assert(ret_ino);
        assert(ret_st);

        r = identity_enter_logged(id, &saved);
        if (r < 0)
                return r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fstat(dfd, &dst) < 0)
                return -errno;
        *ret_dev = dst.st_dev;
        *ret_ino = dst.st_ino;
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

/* Every operation inside a checked directory starts here: act as `id` (until the caller's
 * _cleanup_(identity_leave) of *saved), then the directory's fd as dir_acquire() gives it. */
static int dir_enter(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, FsSaved *saved, int *ret_owned) {
        int r;

        *ret_owned = -1;
        r = identity_enter_logged(id, saved);
        if (r < 0)
                return r;
        return dir_acquire(id, dir, cache, ret_owned);
}

int fsops_reopen_source(const FsIdentity *id, const FsDir *dir, const char *name, struct stat *ret_st) {
        _cleanup_close_ int owned = -1;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(name);
        assert(ret_st);

        dfd = dir_enter(id, dir, NULL, &saved, &owned);
        if (dfd < 0)
                return dfd;
        return open_source_at(dfd, name, ret_st);
}

int fsops_open_directory(const FsIdentity *id, const FsDir *dir) {
        _cleanup_close_ int owned = -1;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);

        dfd = dir_enter(id, dir, NULL, &saved, &owned);
        if (dfd < 0)
                return dfd;
        return TAKE_FD(owned);
}

int fsops_create_temporary(const FsIdentity *id, const FsDir *dir, const char *name) {
        _cleanup_close_ int owned = -1;
        int dfd, fd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(name);

        dfd = dir_enter(id, dir, NULL, &saved, &owned);
        if (dfd < 0)
                return dfd;
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        return fd;
}

int fsops_open_temporary(const FsIdentity *id, const FsDir *dir, const char *name, struct stat *ret_st) {
        _cleanup_close_ int owned = -1, fd = -1;
        struct stat st;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(name);

        dfd = dir_enter(id, dir, NULL, &saved, &owned);
        if (dfd < 0)
                return dfd;
        /* Read as well: the bytes held are hashed before a download goes on with them. */
        fd = open_regular_at(dfd, name, O_RDWR, true, &st);
        if (fd < 0)
                return fd;
        if (id && st.st_uid != id->uid && daemon_is_root())
                return -EBADFD;
        if (ret_st)
                *ret_st = st;
        return TAKE_FD(fd);
}

int fsops_stat_regular(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *name,
                         struct stat *ret_st) {
        _cleanup_close_ int owned = -1;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(name);
        assert(ret_st);

        dfd = dir_enter(id, dir, cache, &saved, &owned);
        if (dfd < 0)
                return dfd;
        if (fstatat(dfd, name, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return S_ISREG(ret_st->st_mode) ? 0 : -EBADFD;
}

int fsops_unlink(const FsIdentity *id, const FsDir *dir, const char *name) {
        _cleanup_close_ int owned = -1;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(name);

        dfd = dir_enter(id, dir, NULL, &saved, &owned);
        if (dfd == -ESTALE)
                log_notice("%s was moved or replaced since %s was created in it; "
                           "that temporary file is no longer reachable by its path.", dir->path, name);
        if (dfd == -ENOENT || dfd == -ESTALE)
                return 0;  /* the directory is gone or replaced: our file is not in it */
        if (dfd < 0)
                return dfd;
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int fsops_open_finished(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                        mode_t mode) {
        _cleanup_close_ int owned = -1, fd = -1;
        struct stat st;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(temp_name);

        dfd = dir_enter(id, dir, cache, &saved, &owned);
        if (dfd < 0)
                return dfd;
        /* Only synced and given its mode: O_NONBLOCK may stay. */
        fd = open_regular_at(dfd, temp_name, O_RDONLY, false, &st);
        if (fd < 0)
                return fd;
        if (fchmod(fd, mode) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int fsops_rename(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                 const char *final_name) {
        _cleanup_close_ int owned = -1;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);
        assert(temp_name);
        assert(final_name);

        dfd = dir_enter(id, dir, cache, &saved, &owned);
        if (dfd < 0)
                return dfd;
        /* renameat() replaces whatever is at the final name, a symlink included, without
         * following it. */
        if (renameat(dfd, temp_name, dfd, final_name) < 0)
                return -errno;
        return 0;
}

int fsops_sync_directory(const FsIdentity *id, const FsDir *dir, FsDirCache *cache) {
        _cleanup_close_ int owned = -1;
        int dfd;
        _cleanup_(identity_leave) FsSaved saved = { .switched = false };

        assert(dir);

        dfd = dir_enter(id, dir, cache, &saved, &owned);
        if (dfd < 0)
                return dfd;
        return fsync(dfd) < 0 ? -errno : 0;
}
