/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Digests a server sends with a response: Repr-Digest and Content-Digest (RFC 9530, structured
 * field dictionaries of byte sequences, "sha-256=:…:, sha-512=:…:") and the older Digest of
 * RFC 3230 ("SHA-256=…"). ServerDigests collects the fields of one response header by header;
 * server_digests_choose() then says which digest applies to the bytes xferd stores. Pure: no
 * I/O, no loop. */

#include <stdbool.h>
#include <stddef.h>

#include "digest.h"

/* Asks a server that can compute them for representation digests (RFC 9530 §4). */
#define SERVER_DIGEST_WANT_HEADER "Want-Repr-Digest: sha-512=3, sha-256=10"

typedef enum ServerDigestField {
        SERVER_DIGEST_REPR,      /* Repr-Digest: the whole selected representation */
        SERVER_DIGEST_CONTENT,   /* Content-Digest: the content of this message only */
        SERVER_DIGEST_LEGACY,    /* Digest (RFC 3230): the whole instance */
        _SERVER_DIGEST_FIELD_MAX,
} ServerDigestField;

/* "Repr-Digest", "Content-Digest", "Digest" */
const char *server_digest_field_to_string(ServerDigestField f);

typedef struct ServerDigests {
        char *fields[_SERVER_DIGEST_FIELD_MAX];   /* the combined value of each, NULL when absent */
        char *content_encoding;
} ServerDigests;

/* Forgets the fields of the previous response (a redirect, a retry). */
void server_digests_reset(ServerDigests *s);
/* Takes one raw header line ("Name: value\r\n"). Returns 1 when it was one of the fields above
 * (or Content-Encoding), 0 when not, -ENOMEM. Repeated fields are combined as one list. */
int server_digests_add_header(ServerDigests *s, const char *line, size_t len);

typedef struct ServerDigest {
        Digest digest;
        ServerDigestField field;
        bool partial;   /* covers only this response's body (Content-Digest of a 206) */
} ServerDigest;

/* Which digest applies to the bytes stored from a response with this status (200 or 206;
 * nothing applies to others). decoded: xferd decoded a content coding before storing, so no
 * digest of the encoded bytes applies. For a 206, Repr-Digest and Digest describe the whole
 * representation, Content-Digest only this range (partial). A whole-file digest wins over a
 * partial one; among fields Repr-Digest, then Content-Digest, then Digest; within a field an
 * algorithm of `preferred` (a mask of DIGEST_ALGORITHM_BIT(), e.g. what is hashed anyway),
 * else the strongest. A field that does not parse is ignored, as RFC 8941 says. Returns 1 and
 * fills *ret, or 0 when none applies. */
int server_digests_choose(const ServerDigests *s, long status, bool decoded, unsigned preferred,
                          ServerDigest *ret);

/* The parsers, for the unit test. Each fills found[a] for the supported algorithms the value
 * names (a later member of the same algorithm wins, as in a dictionary) and returns a mask of
 * them; -EBADMSG when the value is not a valid field. */
int server_digest_parse_dictionary(const char *value, Digest found[static _DIGEST_ALGORITHM_MAX]);
int server_digest_parse_legacy(const char *value, Digest found[static _DIGEST_ALGORITHM_MAX]);
