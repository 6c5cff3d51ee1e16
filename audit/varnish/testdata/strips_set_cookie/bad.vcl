vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: every response loses its Set-Cookie, so the built-in check stores it.
sub vcl_backend_response {
    unset beresp.http.Set-Cookie;
}
