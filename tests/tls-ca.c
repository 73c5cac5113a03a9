/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tls-ca.h"

#include <gio/gio.h>

#include "bus-fixture.h"
#include "peer.h"

/* Runs openssl with args; what it said goes into the error when it fails. */
static gboolean
openssl (GError **error, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        va_list ap;

        g_ptr_array_add (argv, (char *) "openssl");
        va_start (ap, error);
        for (const char *a = va_arg (ap, const char *); a; a = va_arg (ap, const char *))
                g_ptr_array_add (argv, (char *) a);
        va_end (ap);
        g_ptr_array_add (argv, NULL);

        return peer_run (NULL, NULL, (const char *const *) argv->pdata, NULL, error);
}

TlsCa *
tls_ca_new (GError **error)
{
        g_autoptr(TlsCa) ca = g_new0 (TlsCa, 1);

        ca->dir = g_dir_make_tmp ("xferd-test-ca-XXXXXX", error);
        if (!ca->dir)
                return NULL;
        const char *dir = ca->dir;
        g_autofree char *ca_key = g_build_filename (dir, "ca.key", NULL);
        g_autofree char *csr = g_build_filename (dir, "server.csr", NULL);
        g_autofree char *ext = g_build_filename (dir, "server.ext", NULL);
        g_autofree char *serial = g_build_filename (dir, "ca.srl", NULL);

        ca->ca_file = g_build_filename (dir, "ca.pem", NULL);
        ca->cert_file = g_build_filename (dir, "server.pem", NULL);
        ca->key_file = g_build_filename (dir, "server.key", NULL);

        /* P-256 keys: quick to make, and every TLS library takes them. */
        if (!openssl (error, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", ca_key, "-out", ca->ca_file, "-days", "2",
                      "-subj", "/CN=xferd test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL))
                return NULL;
        if (!openssl (error, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", ca->key_file, "-out", csr, "-subj", "/CN=127.0.0.1", NULL))
                return NULL;
        if (!g_file_set_contents (ext,
                                  "basicConstraints=critical,CA:FALSE\n"
                                  "keyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=serverAuth\n"
                                  "subjectAltName=IP:127.0.0.1,DNS:localhost\n", -1, error))
                return NULL;
        if (!openssl (error, "x509", "-req", "-in", csr, "-CA", ca->ca_file, "-CAkey", ca_key,
                      "-CAserial", serial, "-CAcreateserial", "-out", ca->cert_file, "-days", "2",
                      "-extfile", ext, NULL))
                return NULL;
        return g_steal_pointer (&ca);
}

TlsCa *
tls_ca_new_or_skip (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *openssl = g_find_program_in_path ("openssl");
        TlsCa *ca;

        if (!test_needs (openssl ? NULL : "openssl (scripts/setup-deps.sh installs it)"))
                return NULL;
        ca = tls_ca_new (&error);
        g_assert_no_error (error);
        return ca;
}

void
tls_ca_free (TlsCa *ca)
{
        if (!ca)
                return;
        if (ca->dir)
                peer_remove_tree (ca->dir);
        g_free (ca->dir);
        g_free (ca->ca_file);
        g_free (ca->cert_file);
        g_free (ca->key_file);
        g_free (ca);
}

HttpServer *
tls_ca_server_new (const TlsCa *ca)
{
        g_autoptr(GError) error = NULL;
        HttpServer *server = http_server_new_tls (ca->cert_file, ca->key_file, &error);

        g_assert_no_error (error);
        return server;
}
