/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store's files on disk, before and besides SQLite: the private state directory and file
 * modes, a header check for what SQLite would take for valid, moving a broken store aside. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "io-util.h"
#include "log.h"
#include "store-internal.h"

/* Creates the state directory and missing parents with mode 0700 (as the XDG base directory
 * specification asks); an existing directory is left as its administrator made it. */
int store_disk_mkdir(const char *dir) {
        _cleanup_free_ char *parent = NULL;
        char *slash;
        int r;

        assert(dir);

        if (mkdir(dir, 0700) >= 0) {
                /* The umask may have taken bits away; the owner needs all three. */
                if (chmod(dir, 0700) < 0)
                        return log_error_errno(errno, "Failed to set the mode of %s", dir);
                return 0;
        }
        if (errno == EEXIST) {
                struct stat st;

                if (stat(dir, &st) < 0)
                        return log_error_errno(errno, "Failed to look at %s", dir);
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(ENOTDIR, "State directory %s", dir);
                return 0;
        }
        if (errno != ENOENT)
                return log_error_errno(errno, "Failed to create state directory %s", dir);

        parent = strdup(dir);
        if (!parent)
                return log_oom();
        for (size_t n = strlen(parent); n > 1 && parent[n - 1] == '/'; n--)
                parent[n - 1] = 0;
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return log_error_errno(ENOENT, "Failed to create state directory %s", dir);
        *slash = 0;
        r = store_disk_mkdir(parent);
        if (r < 0)
                return r;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create state directory %s", dir);
        if (chmod(dir, 0700) < 0)
                return log_error_errno(errno, "Failed to set the mode of %s", dir);
        return 0;
}

/* The store holds HTTP headers, which are secrets: the file is created 0600 before SQLite
 * sees it, and an existing one (or its -wal/-shm, whose mode SQLite copies from the database
 * file) is brought to 0600 too. */
int store_disk_make_private(const char *path, bool create) {
        _cleanup_close_ int fd = -1;

        assert(path);

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | (create ? O_CREAT : 0), 0600);
        if (fd < 0) {
                if (!create && errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Failed to open %s", path);
        }
        if (fchmod(fd, 0600) < 0)
                return log_error_errno(errno, "Failed to set the mode of %s", path);
        return 0;
}

static uint32_t store_disk_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Catches what SQLite itself would take for valid: a file too short to have a header is
 * silently treated as an empty database, and a file cut inside its last page reads back with
 * zeros where the bytes were. Returns 1 when the file looks whole (or is empty), 0 with *why
 * filled when it does not. Only without a -wal: a crash during a checkpoint may leave the
 * file short while the WAL still holds the pages. */
int store_disk_check_header(const char *path, const char *wal, char *why, size_t why_size) {
        static const char magic[16] = "SQLite format 3";       /* with its NUL */
        _cleanup_close_ int fd = -1;
        uint8_t h[100];
        struct stat st, wst;
        uint32_t page_size, n_pages;
        ssize_t k;
        size_t n;

        assert(path);
        assert(wal);
        assert(why);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to look at %s", path);
        if (st.st_size == 0)
                return 1;
        k = pread_full(fd, h, sizeof h, 0);
        if (k < 0)
                return log_error_errno((int) k, "Failed to read %s", path);
        n = (size_t) k;
        if (n < sizeof magic || memcmp(h, magic, sizeof magic) != 0) {
                snprintf(why, why_size, "is not a database (no SQLite header)");
                return 0;
        }
        if (n < sizeof h) {
                snprintf(why, why_size, "is truncated (%zu bytes)", n);
                return 0;
        }

        if (stat(wal, &wst) >= 0 && wst.st_size > 0)
                return 1;
        page_size = (uint32_t) h[16] << 8 | h[17];
        if (page_size == 1)
                page_size = 65536;
        if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0)
                return 1;       /* SQLite reports this one itself */
        if ((uint64_t) st.st_size % page_size != 0) {
                snprintf(why, why_size, "is truncated (%jd bytes, not a whole number of %u-byte pages)",
                         (intmax_t) st.st_size, page_size);
                return 0;
        }
        /* The page count in the header is valid when its "valid-for" equals the change counter. */
        n_pages = store_disk_be32(h + 28);
        if (store_disk_be32(h + 92) == store_disk_be32(h + 24) && (uint64_t) st.st_size / page_size < n_pages) {
                snprintf(why, why_size, "is truncated (%ju of %u pages)",
                         (uintmax_t) ((uint64_t) st.st_size / page_size), n_pages);
                return 0;
        }
        return 1;
}

/* Renames the database and its companions to "<path>.broken-<time>[.<n>]" (the companions
 * keep their suffixes so SQLite can open the copy as it was). A stale -wal must never meet the
 * fresh database: SQLite would replay its pages into it. */
int store_disk_move_aside(const char *path, char **ret_target) {
        static const char *const companions[] = { "-wal", "-shm", "-journal" };
        _cleanup_free_ char *target = NULL;
        long long now = (long long) time(NULL);

        assert(path);
        assert(ret_target);

        for (unsigned n = 0;; n++) {
                free(target);
                target = NULL;
                if ((n == 0 ? asprintf(&target, "%s.broken-%lld", path, now) :
                              asprintf(&target, "%s.broken-%lld.%u", path, now, n)) < 0)
                        return log_oom();
                if (renameat2(AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE) >= 0)
                        break;
                /* A file system without RENAME_NOREPLACE: check, then rename (we own the
                 * directory, nobody races us). */
                if (errno == EINVAL && access(target, F_OK) < 0 && errno == ENOENT) {
                        if (rename(path, target) >= 0)
                                break;
                } else if (errno == EINVAL)
                        errno = EEXIST;
                if (errno != EEXIST || n >= 100)
                        return log_error_errno(errno, "Failed to move the broken store %s aside", path);
        }

        for (size_t i = 0; i < ELEMENTSOF(companions); i++) {
                _cleanup_free_ char *from = NULL, *to = NULL;

                if (asprintf(&from, "%s%s", path, companions[i]) < 0 ||
                    asprintf(&to, "%s%s", target, companions[i]) < 0)
                        return log_oom();
                if (rename(from, to) >= 0 || errno == ENOENT)
                        continue;
                if (unlink(from) < 0 && errno != ENOENT)
                        return log_error_errno(errno, "Failed to remove %s of the broken store", from);
        }

        *ret_target = TAKE_PTR(target);
        return 0;
}
