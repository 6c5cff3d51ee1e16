# Source: eksiscloud/Varnish_7.x-multiple_sites default.vcl@1c7a7e9178e95158db456e0562ff064457b40a1b, reduced to how it includes include/be_end.vcl and calls be_ended from vcl_backend_response; the backend is local, as varnishd -C resolves it
vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

include "include/be_end.vcl";

sub vcl_backend_response {
    call be_ended;
}
