# Source: adapted from the built-in VCL of varnishcache/varnish-cache bin/varnishd/builtin.vcl@27d2ce15 (7.x), as the reference's "patterns to flag" (section 7) list them: vcl_recv hashes every GET before the built-in Authorization and Cookie checks, and vcl_backend_response sets a TTL and returns before the built-in private/no-store check, except for static files
vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

sub vcl_recv {
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    return (hash);
}

sub vcl_backend_response {
    if (bereq.url ~ "\.(css|js|png|woff2)$") {
        unset beresp.http.Set-Cookie;
        set beresp.ttl = 1d;
        return (deliver);
    }
    set beresp.ttl = 5m;
    set beresp.grace = 1h;
    return (deliver);
}
