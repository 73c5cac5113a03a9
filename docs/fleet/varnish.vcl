vcl 4.1;

# Varnish as the cache of a site's xferd clients (CacheHost= in xferd.conf) for ONE origin,
# the update server the machines fetch from. docs/fleet.md explains it. Set the backend to
# your origin; the tests replace the two lines marked "origin".

import std;

backend origin {
    .host = "updates.example.com";      # origin
    .port = "80";                       # origin
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 60s;
}

sub vcl_recv {
    # xferd asks its CacheHost as it asks any HTTP proxy: "GET http://host:port/path".
    if (req.url ~ "^(?i)http://") {
        set req.http.host = regsub(req.url, "^(?i)http://([^/]+).*$", "\1");
        set req.url = regsub(req.url, "^(?i)http://[^/]+", "");
    }
    # Only the origin above. Anything else gets a 503, and xferd fetches it from its origin
    # itself (a cache that answers 5xx is skipped).
    if (req.http.host != "updates.example.com" && req.http.host != "updates.example.com:80") {
        return (synth(503, "Not cached here"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # The files are the same for every machine: no cookies or credentials in the key.
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    # Update payloads do not change under one name: a day fresh, a week in all.
    if (beresp.status == 200 && !beresp.http.Cache-Control) {
        set beresp.ttl = 1d;
        set beresp.grace = 6d;
    }
    # Stream large files to the first machine while they are being fetched; the others
    # asking meanwhile wait on the same fetch (request coalescing) and get it too.
    set beresp.do_stream = true;
}
