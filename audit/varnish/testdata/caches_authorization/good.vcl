vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: requests with Authorization are passed before the lookup.
sub vcl_recv {
    unset req.http.Cookie;
    if (req.http.Authorization) {
        return (pass);
    }
    return (hash);
}
