vcl 4.1;

# A cache configured to ignore origin headers entirely, like CloudFront with
# a minimum TTL above 0 or a "cache everything, edge TTL 1h" rule: every
# response is kept for an hour, private, no-store and Set-Cookie included.
# No origin header can stop it; only a probe from outside sees it.

backend origin {
	.host = "127.0.0.1";
	.port = "{{.BackendPort}}";
}

sub vcl_recv {
	return (hash);
}

sub vcl_backend_response {
	set beresp.ttl = 1h;
	set beresp.uncacheable = false;
	return (deliver);
}
