# Source: ZeitOnline/app-cache-deployment components/varnish/vcl_includes/recv.vcl@07b848d422229fa1a275afefe14224dccb850f4e, reduced: of the homepage feeds and liveblog rewrites, one of each is kept
sub vcl_recv {

    ### --- Access restriction --- ###
    # Only internal services will ever be allowed to use this varnish

    if (!client.ip ~ zeit) {
        return(synth(405, "Not allowed."));
    }

    ### --- Health check --- ###

    if (req.url == "/cache_health") {
        return(synth(200, "OK"));
    }


    ### --- Purging --- ###

    if (req.method == "PURGE" && req.url ~ "^/agatho/thread") {
        ban("obj.http.x-req-url ~ ^" + req.url);
        return(synth(202, "Ban for agatho added"));
    }

    set req.backend_hint = default;

    # -- homepage feeds --

    if (req.url == "/academics-hp-feed") {
        set req.http.host = "jobs.zeit.de";
        set req.url = "/cached-rss-feeds/adpanel_333644.html";
        set req.http.x-ignore-cache-control = "true";
        set req.http.x-long-term-grace = "true";
    }

    # -- liveblog --
    # liveblog backends are needed, when the app-server itself does some
    # requests to authenticate or ask for the state of a blog.

    # liveblog version 3
    if (req.url ~ "^/liveblog-api-v3/") {
        set req.url = regsub(req.url, "^/liveblog-api-v3/", "/liveblog/3/api/");
        set req.http.x-cache-auth = "true";
        set req.http.x-ignore-cache-control = "true";
        set req.http.x-long-term-grace = "true";
    }

    # -- community --
    if (req.url ~ "^/agatho/") {
        set req.backend_hint = agatho;
        set req.http.host = "community-app{{component.subdomain}}.zeit.de";
    }

    if (req.http.host == "app-cache{{component.subdomain}}.zeit.de" &&
            req.backend_hint == default) {
        return(synth(404, "Not found"));
    }

    # Remove cookies, where not needed.
    if (req.backend_hint != agatho) {
        unset req.http.Cookie;
    }

    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }

    if (req.http.x-cache-auth == "true") {
        return (hash);
    }
}
