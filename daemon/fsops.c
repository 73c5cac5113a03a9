/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "fsops.h"
#include "io-util.h"
#include "log.h"
#include "util.h"

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

/* Opens the directory at the path `dir` as `id` (until the caller's _cleanup_ of *saved) and
 * gives its device and inode; check_access: only if the owner may create files in it. */
static int directory_open_as(const FsIdentity *id, const char *dir, bool check_access, FsSaved *saved,
                             dev_t *ret_dev, ino_t *ret_ino) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = fs_identity_enter(id, saved);
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
        _cleanup_(fs_identity_leave) FsSaved saved = { .switched = false };
        _cleanup_close_ int fd = -1;

        assert(dir);
        assert(ret_dev);
        assert(ret_ino);

        fd = directory_open_as(id, dir, true, &saved, ret_dev, ret_ino);
        return fd < 0 ? fd : 0;
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
        _cleanup_(fs_identity_leave) FsSaved saved = { .switched = false };
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
        c->checked_path = mfree(c->checked_path);
        c->checked_epoch = 0;
}

/* The kept directory's path was found to lead to it, in this epoch. */
static void dir_checked(FsDirCache *c, const char *path, uint64_t epoch) {
        if (epoch == 0 || (!streq_ptr(c->checked_path, path) && free_and_strdup(&c->checked_path, path) < 0))
                epoch = 0;  /* looked up again next time */
        c->checked_epoch = epoch;
}

/* Whether the path of the kept directory was looked up in this epoch already. */
static bool dir_checked_in(const FsDirCache *c, const char *path, uint64_t epoch) {
        return epoch != 0 && c->checked_epoch == epoch && streq_ptr(c->checked_path, path);
}

/* The directory's fd: the cached one when it is the same directory for the same identity,
 * else newly opened and checked (kept in the cache, or handed over in *ret_owned to close);
 * *ret_opened says whether it was opened now (by its path, as the identity). */
static int dir_acquire(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, int *ret_owned, bool *ret_opened) {
        int fd;

        *ret_owned = -1;
        *ret_opened = false;
        if (cache && cache->fd >= 0 && fs_identity_equal(cache->identity, id) && cache->dev == dir->dev &&
            cache->ino == dir->ino)
                return cache->fd;
        fd = open_directory_unlocked(dir);
        if (fd < 0)
                return fd;
        *ret_opened = true;
        if (!cache)
                return *ret_owned = fd;
        fs_dir_cache_done(cache);
        cache->identity = id;
        cache->dev = dir->dev;
        cache->ino = dir->ino;
        cache->fd = fd;
        return fd;
}

static bool dir_path_leads_to(const FsDir *dir) {
        struct stat st;

        return stat(dir->path, &st) >= 0 && S_ISDIR(st.st_mode) && st.st_dev == dir->dev && st.st_ino == dir->ino;
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
        uint64_t keep_size;  /* unlink_kept_at(): a file this large stays open */
        int *ret_fd;
        bool recheck;  /* the cache was kept across loop iterations: its path is looked up again */
        uint64_t epoch;  /* with recheck: once in this epoch (not 0) */
} DirOp;

/* Every operation inside a checked directory runs here: as `id`, with the directory's fd as
 * dir_acquire() gives it; the identity is left and an fd opened for the call closed on return. */
static int dir_run(const FsIdentity *id, const FsDir *dir, FsDirCache *cache,
                   int (*op)(int dfd, const DirOp *a), const DirOp *a) {
        _cleanup_(fs_identity_leave) FsSaved saved = { .switched = false };
        _cleanup_close_ int owned = -1;
        bool opened;
        int dfd, r;

        r = fs_identity_enter(id, &saved);
        if (r < 0)
                return r;
        /* A directory kept open since an earlier iteration is used only if its path, looked up as
         * the owner now (or earlier in the same epoch), still leads to it; else the fresh open
         * below says what is there. */
        if (a->recheck && cache && cache->fd >= 0 && !dir_checked_in(cache, dir->path, a->epoch)) {
                if (dir_path_leads_to(dir))
                        dir_checked(cache, dir->path, a->epoch);
                else
                        fs_dir_cache_done(cache);
        }
        dfd = dir_acquire(id, dir, cache, &owned, &opened);
        if (dfd >= 0 && opened && a->recheck && cache)
                dir_checked(cache, dir->path, a->epoch);
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

static int create_temporary_at(int dfd, const DirOp *a) {
        /* Read as well: the bytes written are read back to be hashed (hash-stream.c). */
        int fd = openat(dfd, a->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

        return fd < 0 ? -errno : fd;
}

int fsops_create_temporary(const FsIdentity *id, const FsDir *dir, FsDirCache *kept, uint64_t epoch,
                           const char *name) {
        assert(dir);
        assert(name);

        return dir_run(id, dir, kept, create_temporary_at,
                       &(DirOp) { .name = name, .recheck = true, .epoch = epoch });
}

static int open_temporary_at(int dfd, const DirOp *a) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* Read as well: the bytes held are hashed while a download goes on with them. */
        fd = open_regular_at(dfd, a->name, O_RDWR, true, &st);
        if (fd < 0)
                return fd;
        if (a->id && st.st_uid != a->id->uid && fs_identity_daemon_is_root())
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
        /* Atomic: the writer threads pass here at once, and only one of them stops. */
        static atomic_int armed = -1;
        int expected = 1;

        if (atomic_load(&armed) < 0) {
                const char *want = getenv("XFERD_TEST_STOP_POINT");
                int v = want && streq(want, name), unset = -1;
                (void) atomic_compare_exchange_strong(&armed, &unset, v);
        }
        if (atomic_compare_exchange_strong(&armed, &expected, 0)) {
                log_warning("Stop point '%s' reached: stopping myself as asked.", name);
                (void) raise(SIGSTOP);
        }
}

int fsops_write_at(const FsIdentity *id, int fd, const void *buf, size_t len, uint64_t offset,
                   size_t *ret_done) {
        _cleanup_(fs_identity_leave) FsSaved saved = { .switched = false };
        int r;

        assert(fd >= 0);
        assert(buf || len == 0);
        assert(ret_done);

        *ret_done = 0;
        r = fs_identity_enter(id, &saved);
        if (r < 0)
                return r;
        if (saved.switched)
                test_stop_point("write-as-owner");
        return pwrite_full(fd, buf, len, (off_t) offset, ret_done);
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

/* The last name of a file whose descriptors are all closed: unlinkat() frees its blocks
 * itself, which for a GiB took 0.3-0.5 s of reads of the allocation bitmaps on a busy disk.
 * A file opened first keeps them until that descriptor closes. */
static int unlink_kept_at(int dfd, const DirOp *a) {
        struct stat st;
        _cleanup_close_ int fd = open_regular_at(dfd, a->name, O_RDONLY, false, &st);

        /* Not opened (gone, not a regular file, not readable): unlinked as it is. */
        if (fd >= 0 && (uint64_t) st.st_size < a->keep_size)
                fd = safe_close(fd);
        if (unlinkat(dfd, a->name, 0) < 0 && errno != ENOENT)
                return -errno;
        *a->ret_fd = fd >= 0 ? TAKE_FD(fd) : -1;
        return 0;
}

int fsops_unlink_kept(const FsIdentity *id, const FsDir *dir, const char *name, uint64_t keep_size, int *ret_fd) {
        int r;

        assert(dir);
        assert(name);
        assert(ret_fd);

        *ret_fd = -1;
        r = dir_run(id, dir, NULL, unlink_kept_at,
                    &(DirOp) { .name = name, .gone_ok = true, .keep_size = keep_size, .ret_fd = ret_fd });
        if (r < 0)
                *ret_fd = safe_close(*ret_fd);
        return r;
}

static int open_finished_at(int dfd, const DirOp *a) {
        /* Only synced and given its mode: O_NONBLOCK may stay. */
        _cleanup_close_ int fd = open_regular_at(dfd, a->name, O_RDONLY, false, a->ret_st);

        if (fd < 0)
                return fd;
        if (fchmod(fd, a->mode) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int fsops_open_finished(const FsIdentity *id, const FsDir *dir, FsDirCache *cache, const char *temp_name,
                        mode_t mode, struct stat *ret_st) {
        assert(dir);
        assert(temp_name);
        assert(ret_st);

        return dir_run(id, dir, cache, open_finished_at,
                       &(DirOp) { .name = temp_name, .mode = mode, .ret_st = ret_st });
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
