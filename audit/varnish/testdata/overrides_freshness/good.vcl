vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: the TTL applies only when the origin said nothing.
sub vcl_backend_response {
    if (!beresp.http.Cache-Control && !beresp.http.Expires) {
        set beresp.ttl = 5m;
    }
}
