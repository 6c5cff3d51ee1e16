vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: private and no-store are checked before Cache-Control goes.
sub vcl_backend_response {
    if (beresp.http.Cache-Control ~ "(private|no-store)") {
        set beresp.uncacheable = true;
        return (deliver);
    }
    unset beresp.http.Cache-Control;
}
