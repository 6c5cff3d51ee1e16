# Source: adapted from the built-in VCL of varnishcache/varnish-cache bin/varnishd/builtin.vcl@27d2ce15 (7.x): custom code that checks private and no-store itself before it returns, and strips Set-Cookie only from static files
vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

sub vcl_recv {
    if (req.http.Authorization || req.http.Cookie ~ "session=") {
        return (pass);
    }
}

sub vcl_backend_response {
    if (beresp.http.Surrogate-Control ~ "(?i)no-store" ||
        beresp.http.Cache-Control ~ "(?i)(private|no-store)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    if (bereq.url ~ "\.(css|js|png|woff2)$") {
        unset beresp.http.Set-Cookie;
    }
}
