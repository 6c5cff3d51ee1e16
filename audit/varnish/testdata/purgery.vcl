# Source: soupedup/purgery varnish/default.vcl@2a4549c1287276b63fb2f845e8f07ae908950147, with the backend on 127.0.0.1 (its compose service "nginx" does not resolve here, and varnishd -C resolves it): vcl_recv and vcl_backend_response never return before the built-in checks
vcl 4.0;

backend default {
  .host = "127.0.0.1";
  .port = "80";
}

sub vcl_recv {
    unset req.http.x-cache;
    if (req.method == "PURGE") {
        return(purge);
    }

}

sub vcl_hit {
    set req.http.x-cache = "hit";
}

sub vcl_miss {
    set req.http.x-cache = "miss";
}

sub vcl_pass {
    set req.http.x-cache = "pass";
}

sub vcl_pipe {
    set req.http.x-cache = "pipe uncacheable";
}

sub vcl_synth {
    set req.http.x-cache = "synth synth";
    set resp.http.x-cache = req.http.x-cache;
}

sub vcl_deliver {
    if (obj.uncacheable) {
        set req.http.x-cache = req.http.x-cache + " uncacheable" ;
    } else {
        set req.http.x-cache = req.http.x-cache + " cached" ;
    }
    set resp.http.x-cache = req.http.x-cache;
}
