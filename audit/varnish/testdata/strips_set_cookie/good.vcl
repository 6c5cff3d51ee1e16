vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: only static files lose their Set-Cookie.
sub vcl_backend_response {
    if (bereq.url ~ "\.(css|js|png)$") {
        unset beresp.http.Set-Cookie;
    }
}
