package cachestatus

import (
	"net/http"
	"testing"
)

// Real header samples, as the vendors document or send them.
func TestReadCacheSignal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
		want   Verdict
	}{
		{"no cache headers", http.Header{"Content-Type": {"text/html"}}, Unknown},
		// RFC 9211
		{"rfc9211 hit", http.Header{"Cache-Status": {"ExampleCache; hit"}}, Hit},
		{"rfc9211 hit with ttl", http.Header{"Cache-Status": {`ExampleCache; hit; ttl=376`}}, Hit},
		{"rfc9211 miss stored", http.Header{"Cache-Status": {"ExampleCache; fwd=uri-miss; stored"}}, Stored},
		{"rfc9211 miss not stored", http.Header{"Cache-Status": {"ExampleCache; fwd=uri-miss; stored=?0"}}, Passed},
		{"rfc9211 bypass", http.Header{"Cache-Status": {"ExampleCache; fwd=bypass"}}, Passed},
		{"rfc9211 collapsed", http.Header{"Cache-Status": {"ExampleCache; fwd=uri-miss; collapsed"}}, Collapsed},
		{"rfc9211 two caches, outer hit", http.Header{"Cache-Status": {"OriginCache; fwd=uri-miss, CDN; hit"}}, Hit},
		{"rfc9211 detail only", http.Header{"Cache-Status": {`ExampleCache; detail="private"`}}, Unknown},
		// Cloudflare
		{"cloudflare HIT", http.Header{"Cf-Cache-Status": {"HIT"}}, Hit},
		{"cloudflare REVALIDATED", http.Header{"Cf-Cache-Status": {"REVALIDATED"}}, Hit},
		{"cloudflare MISS", http.Header{"Cf-Cache-Status": {"MISS"}}, Stored},
		{"cloudflare BYPASS", http.Header{"Cf-Cache-Status": {"BYPASS"}}, Passed},
		{"cloudflare DYNAMIC", http.Header{"Cf-Cache-Status": {"DYNAMIC"}}, Passed},
		{"cloudflare NONE", http.Header{"Cf-Cache-Status": {"NONE"}}, Unknown},
		// Fastly
		{"fastly shield miss edge hit", http.Header{"X-Cache": {"MISS, HIT"}, "X-Cache-Hits": {"0, 1"}}, Hit},
		{"fastly miss", http.Header{"X-Cache": {"MISS, MISS"}, "X-Cache-Hits": {"0, 0"}}, Stored},
		{"fastly hits only", http.Header{"X-Cache-Hits": {"3"}}, Hit},
		// CloudFront
		{"cloudfront hit", http.Header{"X-Cache": {"Hit from cloudfront"}}, Hit},
		{"cloudfront refresh hit", http.Header{"X-Cache": {"RefreshHit from cloudfront"}}, Hit},
		{"cloudfront miss", http.Header{"X-Cache": {"Miss from cloudfront"}}, Stored},
		{"cloudfront error", http.Header{"X-Cache": {"Error from cloudfront"}}, Unknown},
		// Akamai
		{"akamai pragma x-cache hit", http.Header{"X-Cache": {"TCP_MEM_HIT from a23-1-2-3 (AkamaiGHost/11.1.0-123) (-)"}}, Hit},
		{"akamai refresh miss", http.Header{"X-Cache": {"TCP_REFRESH_MISS from a23-1-2-3 (AkamaiGHost/11.1.0-123) (-)"}}, Stored},
		{"akamai remote hit", http.Header{"X-Cache-Remote": {"TCP_HIT from a2-3-4-5 (AkamaiGHost/11.1.0-123) (-)"}}, Hit},
		{"akamai cache status parent hit", http.Header{"Akamai-Cache-Status": {"Miss from child, Hit from parent"}}, Hit},
		{"akamai not cacheable", http.Header{"Akamai-Cache-Status": {"NotCacheable from child"}}, Passed},
		// Azure Front Door
		{"azure hit", http.Header{"X-Cache": {"TCP_HIT"}}, Hit},
		{"azure remote hit", http.Header{"X-Cache": {"TCP_REMOTE_HIT"}}, Hit},
		{"azure private nostore", http.Header{"X-Cache": {"PRIVATE_NOSTORE"}}, Passed},
		{"azure config nocache", http.Header{"X-Cache": {"CONFIG_NOCACHE"}}, Passed},
		// Google Cloud CDN sends only Age on hits
		{"google age", http.Header{"Age": {"1203"}}, Hit},
		{"age zero", http.Header{"Age": {"0"}}, Unknown},
		// Varnish
		{"varnish hit", http.Header{"X-Varnish": {"32770 3"}, "Age": {"5"}}, Hit},
		{"varnish miss", http.Header{"X-Varnish": {"32770"}, "Age": {"0"}}, Unknown},
		// nginx
		{"nginx HIT", http.Header{"X-Cache-Status": {"HIT"}}, Hit},
		{"nginx EXPIRED", http.Header{"X-Cache-Status": {"EXPIRED"}}, Stored},
		{"nginx BYPASS", http.Header{"X-Cache-Status": {"BYPASS"}}, Passed},
		// others
		{"vercel prerender", http.Header{"X-Vercel-Cache": {"PRERENDER"}}, Hit},
		{"bunny miss", http.Header{"Cdn-Cache": {"MISS"}}, Stored},
		{"rack cache fresh", http.Header{"X-Rack-Cache": {"fresh"}}, Hit},
		{"rack cache pass", http.Header{"X-Rack-Cache": {"pass"}}, Passed},
		// The most alarming signal wins.
		{"hit beats bypass", http.Header{"Cf-Cache-Status": {"BYPASS"}, "Age": {"30"}}, Hit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Read(tc.header)
			if got.Verdict != tc.want {
				t.Errorf("verdict %s (%s), want %s", got.Verdict, got.Evidence, tc.want)
			}
			if tc.want != Unknown && got.Evidence == "" {
				t.Error("a verdict without evidence")
			}
		})
	}
}

// A site's own header, named in the config, is read with its own words,
// and replaces a vendor's header of the same name.
func TestReaderSiteHeaders(t *testing.T) {
	r := New(map[string]Words{
		"x-micro-cache": {Hit: []string{"hit"}, Miss: []string{"miss"}, Pass: []string{"skip"}},
		"X-Cache":       {Hit: []string{"CACHED"}, Miss: []string{"FRESH"}},
	})
	for _, tc := range []struct {
		name   string
		header http.Header
		want   Verdict
	}{
		{"site hit", http.Header{"X-Micro-Cache": {"HIT"}}, Hit},
		{"site miss", http.Header{"X-Micro-Cache": {"Miss"}}, Stored},
		{"site pass", http.Header{"X-Micro-Cache": {"SKIP"}}, Passed},
		{"site word unknown", http.Header{"X-Micro-Cache": {"whatever"}}, Unknown},
		{"vendor header still read", http.Header{"Cf-Cache-Status": {"HIT"}}, Hit},
		{"replaced vendor header", http.Header{"X-Cache": {"CACHED"}}, Hit},
		{"replaced vendor words no longer read", http.Header{"X-Cache": {"TCP_HIT"}}, Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Read(tc.header); got.Verdict != tc.want {
				t.Errorf("verdict %s (%s), want %s", got.Verdict, got.Evidence, tc.want)
			}
		})
	}
	// The default table is untouched.
	if got := Read(http.Header{"X-Cache": {"TCP_HIT"}}); got.Verdict != Hit {
		t.Errorf("default reader changed: %s", got.Verdict)
	}
}

// Log fields carry the same words as the headers; Value reads one.
func TestValue(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		want          Verdict
	}{
		{"cf-cache-status", "hit", Hit}, // Cloudflare Logpush CacheCacheStatus
		{"CF-Cache-Status", "dynamic", Passed},
		{"X-Cache-Status", "EXPIRED", Stored}, // nginx $upstream_cache_status
		{"X-Cache", "RefreshHit", Hit},        // CloudFront x-edge-result-type
		{"X-Cache", "Error", Unknown},
		{"Cache-Status", "edge; fwd=uri-miss; collapsed", Collapsed},
		{"X-Not-A-Cache", "HIT", Unknown},
	} {
		if got := Value(tc.header, tc.value); got != tc.want {
			t.Errorf("Value(%q, %q) = %s, want %s", tc.header, tc.value, got, tc.want)
		}
	}
}
