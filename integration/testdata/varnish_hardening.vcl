vcl 4.1;

# The cache of the hardening tests. Like the 2017 set-up (varnish_2017.vcl)
# it caches requests with cookies without keying on them and stops only at
# "Cache-Control: private". Two more habits of real configurations:
#
# - The cache key leaves out the query string and path parameters. AWS's
#   managed CachingOptimized cache policy leaves query strings out of
#   CloudFront's key ("Query strings: None"), and ";jsessionid=" is the
#   parameter URL normalisers drop first, being different per visitor.
# - A targeted field for this CDN wins over Cache-Control, as RFC 9213
#   §2.2 requires and as Vercel documents for Vercel-CDN-Cache-Control
#   (vercel.com/docs/caching/cache-control-headers: "Vercel-CDN-Cache-Control,
#   CDN-Cache-Control, Cache-Control", in that order). Varnish has no
#   native support; the max-age is read with a regex, as public VCLs read
#   Cache-Control's.

import std;

backend origin {
	.host = "127.0.0.1";
	.port = "{{.BackendPort}}";
}

sub vcl_recv {
	return (hash);
}

sub vcl_hash {
	hash_data(regsub(req.url, "[;?].*$", ""));
	return (lookup);
}

sub vcl_backend_response {
	if (beresp.http.Vercel-CDN-Cache-Control) {
		if (beresp.http.Vercel-CDN-Cache-Control ~ "(?i)(^|[ ,])(no-store|private)([ ,;=]|$)") {
			set beresp.uncacheable = true;
			set beresp.ttl = 120s;
			return (deliver);
		}
		set beresp.ttl = std.duration(regsub(beresp.http.Vercel-CDN-Cache-Control, "^.*max-age=([0-9]+).*$", "\1s"), 0s);
		return (deliver);
	}
	if (beresp.http.Cache-Control ~ "private") {
		set beresp.uncacheable = true;
		set beresp.ttl = 120s;
		return (deliver);
	}
	set beresp.ttl = 1h;
	return (deliver);
}
