# Source: pypi/infra terraform/warehouse/vcl/main.vcl@0028bbac217adf5ad6ca2b776daddec7c0293bd6, reduced: vcl_recv keeps its cookie, pass and lookup logic but not its URL normalisations, redirects and XML-RPC blocks (which hold Terraform template variables); vcl_error is dropped
sub vcl_recv {
    # Require authentication for curl -XPURGE requests.
    set req.http.Fastly-Purge-Requires-Auth = "1";

    # Synthesize a custom header for the locale if set, so we can vary on this
    # instead of the entire cookie, only do this on the edge. Shields should
    # ignore cookies.
    if (!req.http.Fastly-FF) {
        if (req.http.Cookie:_LOCALE_ && req.http.Cookie:_LOCALE_ != "") {
            # If set, language from cookie always wins
            set req.http.PyPI-Locale = req.http.Cookie:_LOCALE_;
        } else {
            set req.http.Accept-Language = accept.language_lookup("en:es:fr:ja:pt-BR:uk:el:de:zh-Hans:zh-Hant:ru:he:eo:ko", "en", req.http.Accept-Language);
            set req.http.PyPI-Locale = req.http.Accept-Language;

            if (!req.http.PyPI-Locale) {
                # Safety-check: If PyPI-Locale is empty, default to "en"
                set req.http.PyPI-Locale = "en";
            }
        }
    }

#FASTLY recv

    # On a POST, we want to skip the shielding and hit backends directly.
    if (req.request == "POST") {
        set req.backend = F_Application;
    }

    # Do not bother to attempt to run the caching mechanisms for methods that
    # are not generally safe to cache.
    if (req.request != "HEAD" &&
        req.request != "GET" &&
        req.request != "FASTLYPURGE") {
      return(pass);
    }

    # We don't ever want to cache our health URL. Outside systems should be
    # able to use it to reach past Fastly and get an end to end health check.
    if (req.url == "/_health/") {
        return(pass);
    }

    # We never want to cache our admin URLs, while this should be "safe" due to
    # the architecure of Warehouse, it'll just be easier to debug issues if
    # these always are uncached.
    if (req.url ~ "^/admin/") {
        return(pass);
    }

    # Finally, return the default lookup action.
    return(lookup);
}


# Common logic for both miss and pass
sub miss_pass {
    # Remove Accept-Encoding header to prevent origin server from doing
    # gzip by itself, since we want to do it at the Edge
    unset bereq.http.Accept-Encoding;
}


sub vcl_pass {
#FASTLY pass

  call miss_pass;
}


sub vcl_miss {
#FASTLY miss

  call miss_pass;
}



sub vcl_fetch {

    # These are newer kinds of redirects which should be able to be cached by
    # default, even though Fastly doesn't currently have them in their default
    # list of cacheable status codes.
    if (http_status_matches(beresp.status, "303,307,308")) {
        set beresp.cacheable = true;
    }

    # Handle 5XX (or any other unwanted status code)
    if (beresp.status >= 500 && beresp.status < 600) {
        # Flag for logging — must be set BEFORE stale/restart
        # req.http.* headers persist across restarts and into vcl_log
        set req.http.X-Origin-5xx = "true";
        # Prefer the shield-carried code so the edge doesn't clobber it with 503
        set req.http.X-Origin-Status = if(beresp.http.X-Origin-Status, beresp.http.X-Origin-Status, beresp.status);

        # Deliver stale if the object is available
        if (stale.exists) {
            return(deliver_stale);
        }

        if (req.restarts < 1 && (req.request == "GET" || req.request == "HEAD")) {
            restart;
        }

        # Else go to vcl_error to deliver a synthetic
        error 503;
    }


#FASTLY fetch


    # Trigger a "SSL is required" error if the backend has indicated to do so.
    if (beresp.http.X-Fastly-Error == "603") {
        error 603 "SSL is required";
    }

    # If we've gotten a 502 or a 503 from the backend, we'll go ahead and retry
    # the request.
    if ((beresp.status == 502 || beresp.status == 503) &&
            req.restarts < 1 &&
            (req.request == "GET" || req.request == "HEAD")) {
        restart;
    }

    # If we've restarted, then we'll record the number of restarts.
    if(req.restarts > 0 ) {
        set beresp.http.Fastly-Restarts = req.restarts;
    }

    # We want to enable compression, but due to CRIME attacks we want to skip
    # compressing anything that Varies on a Cookie or Authorization header
    # because we don't know if they are safe to compress.
    #
    # We also want to skip it if we've already gotten a Content-Encoding
    if (beresp.http.Vary !~ "(?i)(Cookie|Authorization)" &&
            !beresp.http.Content-Encoding) {
        # Always set a Vary header, even if we don't end up compressing
        # the object, because the uncompressed version should only be
        # used when the request does NOT request the compressed one.
        if (!beresp.http.Vary ~ "Accept-Encoding") {
            if (beresp.http.Vary) {
                set beresp.http.Vary = beresp.http.Vary ", Accept-Encoding";
            } else {
                set beresp.http.Vary = "Accept-Encoding";
            }
        }

        # Perform compression if the client claims to understand it
        if (req.http.Accept-Encoding == "gzip") {
            set beresp.gzip = true;
        } else if (req.http.Accept-Encoding == "br") {
            set beresp.brotli = true;
        } else {
            set beresp.gzip = false;
            set beresp.brotli = false;
        }
    }

    # If there is a Set-Cookie header, we'll ensure that we do not cache the
    # response.
    if (beresp.http.Set-Cookie) {
        set req.http.Fastly-Cachetype = "SETCOOKIE";
        return (pass);
    }

    # If the response has the private Cache-Control directive then we won't
    # cache it.
    if (beresp.http.Cache-Control ~ "private") {
        set req.http.Fastly-Cachetype = "PRIVATE";
        return (pass);
    }

    # If we've gotten an error after the restarts we'll deliver the response
    # with a very short cache time.
    if (http_status_matches(beresp.status, "500,502,503")) {
        set req.http.Fastly-Cachetype = "ERROR";
        set beresp.ttl = 1s;
        set beresp.grace = 5s;
        return (deliver);
    }

    # Apply a default TTL if there isn't a max-age or s-maxage.
    if (beresp.http.Expires ||
            beresp.http.Surrogate-Control ~ "max-age" ||
            beresp.http.Cache-Control ~"(s-maxage|max-age)") {
        # Keep the ttl here
    }
    else {
        # Apply the default ttl
        set beresp.ttl = 60s;
    }

    # Actually deliver the fetched response.
    return(deliver);
}


sub vcl_hit {
#FASTLY hit

    # If the object we have isn't cacheable, then just serve it directly
    # without going through any of the caching mechanisms.
    if (!obj.cacheable) {
        return(pass);
    }

    return(deliver);
}
