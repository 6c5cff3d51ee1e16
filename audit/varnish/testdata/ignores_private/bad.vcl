vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: the built-in check no longer sees private or no-store.
sub vcl_backend_response {
    unset beresp.http.Cache-Control;
}
