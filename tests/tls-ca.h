/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A certificate authority made for one test with the openssl command line
 * tool: a CA certificate (what xferd's CAFile= names) and a server
 * certificate it signed for 127.0.0.1 and localhost (what the https test
 * server presents, http-server.h). Everything lives in a temporary directory
 * of its own, removed with it.
 */
#pragma once

#include <glib.h>

#include "http-server.h"

G_BEGIN_DECLS

typedef struct {
        char *dir;              /* the CA's temporary directory */
        char *ca_file;          /* the CA certificate, PEM */
        char *cert_file;        /* the server certificate, PEM */
        char *key_file;         /* its private key, PEM */
} TlsCa;

/* Makes the files in a new temporary directory. NULL and an error when openssl
 * is missing or fails; g_error_matches (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT)
 * tells a missing openssl. */
TlsCa *tls_ca_new (GError **error);
/* tls_ca_new(), asserting it works; NULL, having skipped the test (failed it under
 * CI), when openssl is missing. */
TlsCa *tls_ca_new_or_skip (void);
void tls_ca_free (TlsCa *ca);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlsCa, tls_ca_free)

/* The https test server (http_server_new_tls()) with the server certificate ca signed;
 * aborts when it cannot start. */
HttpServer *tls_ca_server_new (const TlsCa *ca);

G_END_DECLS
