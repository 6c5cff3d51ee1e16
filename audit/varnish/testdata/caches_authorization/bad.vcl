vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: requests with Authorization are looked up before the built-in check.
sub vcl_recv {
    unset req.http.Cookie;
    return (hash);
}
