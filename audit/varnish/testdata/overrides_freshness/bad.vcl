vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: max-age=0, no-cache and a past Expires become five minutes.
sub vcl_backend_response {
    set beresp.ttl = 5m;
}
