vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Bad: requests with a session cookie are looked up by URL alone.
sub vcl_recv {
    if (req.http.Authorization) {
        return (pass);
    }
    return (hash);
}
