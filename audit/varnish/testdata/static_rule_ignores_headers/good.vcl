vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: static-looking URLs still go through the built-in check.
sub vcl_backend_response {
    if (bereq.url ~ "\.(css|js|png)$") {
        set beresp.ttl = 1d;
    }
}
