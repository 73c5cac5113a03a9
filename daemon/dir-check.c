/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The destination directory of a batch of Download calls, checked once, kept open, and checked
 * again by each call as strictly as a fresh check (see dir-check.h). */
#include <assert.h>
#include <fcntl.h>
#include <sys/sysmacros.h>

#include "dir-check.h"
#include "util.h"

static dev_t statx_dev(const struct statx *stx) {
        return makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

void fs_dir_check_done(FsDirCheck *c) {
        assert(c);

        c->fd = safe_close(c->fd);
        c->path = mfree(c->path);
        fs_identity_done(&c->id);
}

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

int fs_dir_check_directory(FsDirCheck *c, const FsIdentity *id, const char *dir, uint64_t epoch,
                           FsNameLookup *lookup, dev_t *ret_dev, ino_t *ret_ino) {
        _cleanup_(fs_identity_leave) FsSaved saved = { .switched = false };
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
        r = fs_identity_enter(id, &saved);
        if (r < 0)
                return r;
        /* In the epoch of the last check, the directory is what that check found: a check
         * again would make the same calls microseconds later, and a change in between is one
         * right after it, which every use of the directory is guarded against anyway (the
         * temporary file is opened and the file renamed in the directory of this device and
         * inode, as the owner). */
        if (c->fd >= 0 && streq(c->path, dir) && fs_identity_equal(&c->id, id) &&
            ((epoch != 0 && c->epoch == epoch) || dir_check_still(c, dir))) {
                *ret_dev = c->dev;
                *ret_ino = c->ino;
                c->epoch = epoch;
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
        if (!c->path || fs_identity_copy(id, &c->id) < 0) {
                fs_dir_check_done(c);
                return 0;
        }
        c->dev = *ret_dev;
        c->ino = *ret_ino;
        c->mnt_id = stx.stx_mnt_id;
        c->epoch = epoch;
        c->fd = TAKE_FD(fd);
        return 0;
}

int fs_dir_check_stat(const FsDirCheck *c, const FsIdentity *id, const FsDir *dir, const char *name,
                         struct stat *ret_st) {
        _cleanup_(fs_identity_leave) FsSaved saved = { .switched = false };
        int r;

        assert(c);
        assert(dir);
        assert(name);
        assert(ret_st);

        if (c->fd < 0 || !streq(c->path, dir->path) || c->dev != dir->dev || c->ino != dir->ino ||
            !fs_identity_equal(&c->id, id))
                return fsops_stat_regular(id, dir, NULL, name, ret_st);
        r = fs_identity_enter(id, &saved);
        if (r < 0)
                return r;
        if (fstatat(c->fd, name, ret_st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return S_ISREG(ret_st->st_mode) ? 0 : -EBADFD;
}
