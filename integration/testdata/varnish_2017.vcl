vcl 4.1;

# The 2017 CDN set-up. Its only stop is "Cache-Control: private";
# everything else is kept for an hour. Requests with cookies are cached too:
# the cookies reach the origin, which personalises, but they are not part of
# the cache key, so the cache cannot tell one user's page from another's.

backend origin {
	.host = "127.0.0.1";
	.port = "{{.BackendPort}}";
}

sub vcl_recv {
	# Skip the builtin vcl_recv, which would pass requests with cookies.
	return (hash);
}

sub vcl_backend_response {
	if (beresp.http.Cache-Control ~ "private") {
		# Hit-for-miss: do not store, do not collapse.
		set beresp.uncacheable = true;
		set beresp.ttl = 120s;
		return (deliver);
	}
	# "no-cache" and an Expires in the past do not stop it.
	set beresp.ttl = 1h;
	return (deliver);
}
