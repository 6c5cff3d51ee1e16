package cachestatus

import "testing"

// Every word each log field's vendor documents, and the words that field
// cannot carry.
func TestField(t *testing.T) {
	for _, tc := range []struct {
		field, value string
		want         Verdict
	}{
		// Cloudflare Logpush CacheCacheStatus.
		{"CacheCacheStatus", "hit", Hit},
		{"CacheCacheStatus", "stale", Hit},
		{"CacheCacheStatus", "updating", Hit},
		{"CacheCacheStatus", "revalidated", Hit},
		{"CacheCacheStatus", "stream_hit", Hit},
		{"CacheCacheStatus", "miss", Stored},
		{"CacheCacheStatus", "expired", Stored},
		{"CacheCacheStatus", "bypass", Passed},
		{"CacheCacheStatus", "dynamic", Passed},
		{"CacheCacheStatus", "ignored", Passed},
		{"CacheCacheStatus", "deferred", Unknown},
		{"CacheCacheStatus", "unknown", Unknown},
		// CloudFront x-edge-result-type.
		{"x-edge-result-type", "Hit", Hit},
		{"x-edge-result-type", "RefreshHit", Hit},
		{"x-edge-result-type", "OriginShieldHit", Hit},
		{"x-edge-result-type", "Miss", Stored},
		{"x-edge-result-type", "LimitExceeded", Unknown},
		{"x-edge-result-type", "CapacityExceeded", Unknown},
		{"x-edge-result-type", "Error", Unknown},
		{"x-edge-result-type", "Redirect", Unknown},
		// Fastly fastly_info.state.
		{"fastly_info.state", "HIT", Hit},
		{"fastly_info.state", "HIT-STALE", Hit},
		{"fastly_info.state", "HIT-CLUSTER", Hit},
		{"fastly_info.state", "HIT-REFRESH", Hit},
		{"fastly_info.state", "HIT-SYNTH", Unknown},
		{"fastly_info.state", "HITPASS", Passed},
		{"fastly_info.state", "MISS", Stored},
		{"fastly_info.state", "MISS-CLUSTER", Stored},
		{"fastly_info.state", "PASS", Passed},
		{"fastly_info.state", "ERROR", Unknown},
		{"fastly_info.state", "NONE", Unknown},
		// varnishncsa %{Varnish:handling}x.
		{"Varnish:handling", "hit", Hit},
		{"Varnish:handling", "miss", Stored},
		{"Varnish:handling", "hitmiss", Stored},
		{"Varnish:handling", "pass", Passed},
		{"Varnish:handling", "hitpass", Passed},
		{"Varnish:handling", "pipe", Passed},
		{"Varnish:handling", "synth", Unknown},
		// nginx $upstream_cache_status.
		{"$upstream_cache_status", "HIT", Hit},
		{"$upstream_cache_status", "UPDATING", Hit},
		{"$upstream_cache_status", "MISS", Stored},
		{"$upstream_cache_status", "BYPASS", Passed},
		{"$upstream_cache_status", "-", Unknown},
		// Akamai DataStream 2 cacheStatus.
		{"cacheStatus", "1", Hit},
		{"cacheStatus", "0", Stored},
		// Google Cloud CDN statusDetails.
		{"statusDetails", "response_from_cache", Hit},
		{"statusDetails", "response_from_cache_validated", Hit},
		{"statusDetails", "response_sent_by_backend", Stored},
		{"statusDetails", "failed_to_connect_to_backend", Unknown},
		// A field no vendor names.
		{"X-Cache-Status", "HIT", Unknown},
	} {
		if got := Field(tc.field, tc.value); got != tc.want {
			t.Errorf("Field(%q, %q) = %s, want %s", tc.field, tc.value, got, tc.want)
		}
	}
}
