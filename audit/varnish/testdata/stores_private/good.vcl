vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: no return, so the built-in check marks private, no-store responses uncacheable.
sub vcl_backend_response {
    set beresp.grace = 1h;
}
