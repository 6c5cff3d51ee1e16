vcl 4.1;

# A one-second micro-cache in front of a slow origin, sold as harmless for
# "no-cache" pages: "nobody sees a page more than a second old". Like the
# 2017 set-up it stops only at "Cache-Control: private" and caches requests
# with cookies without keying on them.
#
# Concurrent misses for one URL wait on Varnish's waiting list for the first
# fetch and are then all served its object. The TTL must be positive for
# that: Varnish 7.1 does not hand a zero-TTL object to the waiting list, it
# sends the waiting requests to the origin one after another (tried: with
# beresp.ttl = 0s, grace or not, every user got their own page).

backend origin {
	.host = "127.0.0.1";
	.port = "{{.BackendPort}}";
}

sub vcl_recv {
	return (hash);
}

sub vcl_backend_response {
	if (beresp.http.Cache-Control ~ "private") {
		set beresp.uncacheable = true;
		set beresp.ttl = 120s;
		return (deliver);
	}
	set beresp.ttl = 1s;
	set beresp.grace = 0s;
	return (deliver);
}
