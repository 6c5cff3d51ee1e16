# Source: okor/LEMPress configs/default.vcl@950f22ea582c0b091eace4c2a542edb939a754a8, adapted from Varnish 3 to 4.1 (vcl_fetch is vcl_backend_response, req.url is bereq.url there).
vcl 4.1;

backend default {
.host = "127.0.0.1";
.port = "8080";
}

# Drop any cookies sent to Wordpress.
# except when previewing
sub vcl_recv {
    if ( !(req.url ~ "(wp-login|wp-admin|preview=true)") ) {
        unset req.http.cookie;
    }
}

# Drop any cookies Wordpress tries to send back to the client.
# except when previewing
sub vcl_backend_response {
    if ( !(bereq.url ~ "(wp-login|wp-admin|preview=true)") ) {
        unset beresp.http.set-cookie;
    }
}
