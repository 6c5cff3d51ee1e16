vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: returning skips the built-in check, so private, no-store responses are stored.
sub vcl_backend_response {
    set beresp.grace = 1h;
    return (deliver);
}
