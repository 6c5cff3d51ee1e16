vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Good: requests with a session cookie are passed.
sub vcl_recv {
    if (req.http.Authorization) {
        return (pass);
    }
    if (req.http.Cookie ~ "session=") {
        return (pass);
    }
    return (hash);
}
