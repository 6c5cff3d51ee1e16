vcl 4.1;

# A common site VCL: strip what does not change the page to raise the hit
# ratio, then fall through to the builtin VCL for everything else.

backend origin {
	.host = "127.0.0.1";
	.port = "{{.BackendPort}}";
}

sub vcl_recv {
	unset req.http.X-Session;
	# Analytics cookies never change a page: drop them.
	if (req.http.Cookie) {
		set req.http.Cookie = regsuball(req.http.Cookie, "(^|;\s*)(_ga[^=]*|_gid)=[^;]*", "");
		set req.http.Cookie = regsub(req.http.Cookie, "^;\s*", "");
		if (req.http.Cookie ~ "^\s*$") {
			unset req.http.Cookie;
		}
	}
	# "Strip cookies to improve the hit ratio": hide the session from the
	# builtin vcl_recv, which would pass the request, and hand it back to
	# the origin in vcl_backend_fetch. The cache key never sees it.
	if (req.http.Cookie) {
		set req.http.X-Session = req.http.Cookie;
		unset req.http.Cookie;
	}
	# No return: the builtin vcl_recv decides (Authorization still passes).
}

sub vcl_backend_fetch {
	if (bereq.http.X-Session) {
		set bereq.http.Cookie = bereq.http.X-Session;
		unset bereq.http.X-Session;
	}
}

# No vcl_backend_response: the builtin one decides. It does not store a
# response with Set-Cookie or a zero TTL, and it checks Cache-Control for
# no-cache, no-store and private only when there is no Surrogate-Control:
# "Cache-Control: private" with "Surrogate-Control: max-age=3600" is stored
# (for default_ttl: Varnish takes no TTL from Surrogate-Control).
