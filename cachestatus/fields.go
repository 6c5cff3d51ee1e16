package cachestatus

import "strings"

// Log fields. Logs carry the same words as the headers, and some words no
// response header carries: the state of a request as the cache itself
// records it. Field reads those, by the name the vendor gives the field,
// so that the log watcher maps every vendor's words here too.

// The log fields' vocabularies, read by vocabulary.read.
var (
	// logpush is Cloudflare Logpush's CacheCacheStatus, which adds to
	// CF-Cache-Status the words of logs/reference/log-fields/zone/
	// http_requests.md in cloudflare/cloudflare-docs.
	logpush = Words{
		Hit:  []string{"hit", "stale", "updating", "revalidated", "stream_hit"},
		Miss: []string{"miss", "expired"},
		Pass: []string{"bypass", "dynamic", "ignored"},
	}.vocabulary()
	// varnishHandling is varnishncsa's %{Varnish:handling}x
	// (doc/sphinx/reference/varnishncsa.rst in varnishcache/varnish-cache):
	// a request parked on the waiting list and then served the fetched
	// object logs "hit". Hit-for-miss fetches as a miss; hit-for-pass
	// passes.
	varnishHandling = Words{
		Hit:  []string{"hit"},
		Miss: []string{"miss", "hitmiss"},
		Pass: []string{"pass", "hitpass", "pipe"},
	}.vocabulary()
	// datastream2 is Akamai DataStream 2's cacheStatus: 1 when the edge
	// served the object from its cache, 0 otherwise
	// (techdocs.akamai.com/datastream2/docs/data-set-parameters-copy-1).
	datastream2 = Words{Hit: []string{"1"}, Miss: []string{"0"}}.vocabulary()
	// cloudCDN is Cloud CDN's jsonPayload.statusDetails
	// (cloud.google.com/cdn/docs/logging).
	cloudCDN = Words{
		Hit:  []string{"response_from_cache", "response_from_cache_validated"},
		Miss: []string{"response_sent_by_backend"},
	}.vocabulary()
)

// fields maps a log field, as its vendor names it, to its reader.
var fields = map[string]func(string) Verdict{
	"CacheCacheStatus":       logpush.read,         // Cloudflare Logpush http_requests
	"x-edge-result-type":     readXCache,           // CloudFront: Hit, RefreshHit, OriginShieldHit, Miss, ...
	"fastly_info.state":      readFastlyState,      // Fastly
	"Varnish:handling":       varnishHandling.read, // varnishncsa
	"$upstream_cache_status": upstreamStatus.read,  // nginx
	"cacheStatus":            datastream2.read,     // Akamai DataStream 2
	"statusDetails":          cloudCDN.read,        // Google Cloud CDN
}

// Field reads one value of a vendor's log field, named as the vendor
// names it ("CacheCacheStatus", "fastly_info.state", "Varnish:handling"),
// or returns Unknown for a field it does not know.
func Field(name, value string) Verdict {
	if read, ok := fields[name]; ok {
		return read(value)
	}
	return Unknown
}

// readFastlyState reads fastly_info.state
// (fastly.com/documentation/reference/vcl/variables/miscellaneous/fastly-info-state/):
// HIT, HIT-STALE, HIT-SYNTH, HITPASS, MISS, PASS, ERROR, each possibly
// with suffixes such as -CLUSTER or -REFRESH. HITPASS is a pass remembered
// by the cache, and HIT-SYNTH a response made up at the edge: neither is
// an origin response served from storage.
func readFastlyState(value string) Verdict {
	state := strings.ToUpper(strings.TrimSpace(value))
	switch {
	case strings.HasPrefix(state, "HITPASS"):
		return Passed
	case strings.HasPrefix(state, "HIT-SYNTH"):
		return Unknown
	case strings.HasPrefix(state, "HIT"):
		return Hit
	case strings.HasPrefix(state, "MISS"):
		return Stored
	case strings.HasPrefix(state, "PASS"):
		return Passed
	}
	return Unknown
}
