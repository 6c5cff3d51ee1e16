# Source: perusio/drupal-with-nginx sites-available/lb.example.com@8d4ff523033620583020ab1a242b350db1190007, trimmed to its HTTP server's proxying locations
## HTTP server.
server {
    listen [::]:80;
    server_name example.com;

    ## Proxy all requests to the backends.
    location / {
        ## Include the proxy cache.
        include sites-available/microcache_long_proxy.conf;
        ## Keepalive to backend.
        proxy_http_version 1.1;
        ## Forward the protocol upstream.
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_pass http://backend_web$request_uri;
        ## How to deal with 'bad' backends,
        proxy_next_upstream error timeout invalid_header http_500 http_502 http_504;
    }

    ## Backend testing/reporting location.
    location = /lbtest {
        if ($arg_k != 581c6b3d) {
            return 404;
        }
        proxy_pass http://backend_web$request_uri;
    }

    ## Miscellaneous CSS and JS.
    location ~* ^.*\.(?:css|js)$ {
        ## Include the proxy cache.
        include sites-available/microcache_long_proxy.conf;
    }
} # HTTP server
