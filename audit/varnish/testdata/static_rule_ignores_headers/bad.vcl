vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: static-looking URLs return before the built-in private/no-store check.
sub vcl_backend_response {
    if (bereq.url ~ "\.(css|js|png)$") {
        set beresp.ttl = 1d;
        return (deliver);
    }
}
