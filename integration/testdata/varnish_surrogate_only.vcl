vcl 4.1;

# A cache configured on Surrogate-Control alone, as issue 16 describes: a
# custom VCL (or Fastly snippet) that obeys the origin's Surrogate-Control
# and otherwise sets its own TTL, returning before the builtin VCL, so
# Cache-Control is never read. Fastly documents that it "will prefer
# Surrogate-Control over Cache-Control if both exist"; this VCL goes one
# step further and reads nothing else. Cookies reach the origin but are not
# in the cache key.

backend origin {
	.host = "127.0.0.1";
	.port = "{{.BackendPort}}";
}

sub vcl_recv {
	# Skip the builtin vcl_recv, which would pass requests with cookies.
	return (hash);
}

sub vcl_backend_response {
	if (beresp.http.Surrogate-Control ~ "(?i)no-store") {
		# Hit-for-miss: do not store, do not collapse.
		set beresp.uncacheable = true;
		set beresp.ttl = 120s;
		return (deliver);
	}
	set beresp.ttl = 1h;
	return (deliver);
}
