/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Checksum lists in the format of sha256sum(1) and sha512sum(1), as SHA256SUMS files of
 * distributions and of systemd-sysupdate carry them:
 *
 *     <hex digest> <space or '*'><file name>
 *
 * one line per file, hex in either case; 64 digits are a SHA-256, 128 a SHA-512. The rules
 * are systemd-sysupdate's: every line must parse or the whole list is refused (a list that
 * came with a good signature and still does not parse is not half trusted); a name is a
 * plain file name (no '/', not "." or "..", no control character, at most 255 bytes). A name
 * listed twice with two digests is refused as well. Files are looked up by the last
 * component of their URL, as systemd-importd does. Pure: no I/O. */

#include <stddef.h>

#include "digest.h"

typedef struct ChecksumList ChecksumList;

/* Parses size bytes of text. On a malformed list returns -EBADMSG and, when error is not
 * NULL, a sentence naming the line and what is wrong with it. */
int checksum_list_parse(const char *text, size_t size, ChecksumList **ret, char *error, size_t error_size);
ChecksumList *checksum_list_free(ChecksumList *l);
static inline void checksum_list_freep(ChecksumList **l) {
        checksum_list_free(*l);
}
size_t checksum_list_count(const ChecksumList *l);
/* The digest listed for name, or NULL. */
const Digest *checksum_list_find(const ChecksumList *l, const char *name);

/* The name a list knows a URL's file by: the last non-empty path component, without query and
 * fragment, as it is written in the URL (no percent-decoding). -EADDRNOTAVAIL when the URL has
 * no such component, -EINVAL when it is not a valid file name. */
int checksum_list_url_name(const char *url, char **ret);
