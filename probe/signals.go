package probe

import (
	"net/http"
	"strconv"
	"strings"
)

// CacheVerdict is what a response says about the shared caches it passed.
type CacheVerdict string

// The verdicts, from the most to the least alarming for a personal page.
const (
	// Hit: the response was served from a shared cache.
	Hit CacheVerdict = "hit"
	// Collapsed: the response was shared with requests that waited for the
	// same origin fetch (RFC 9211 collapsed), the 2017 mechanism.
	Collapsed CacheVerdict = "collapsed"
	// Stored: fetched from the origin by a cache that may have kept it.
	Stored CacheVerdict = "stored"
	// Passed: a cache saw the response and declined to store it.
	Passed CacheVerdict = "passed"
	// Unknown: no cache said anything this table understands.
	Unknown CacheVerdict = "unknown"
)

// rank orders verdicts; when several caches speak, the most alarming wins.
func (v CacheVerdict) rank() int {
	switch v {
	case Hit:
		return 4
	case Collapsed:
		return 3
	case Stored:
		return 2
	case Passed:
		return 1
	}
	return 0
}

// CacheSignal is a verdict with the header that gave it.
type CacheSignal struct {
	Verdict  CacheVerdict `json:"verdict"`
	Evidence string       `json:"evidence,omitempty"`
}

// signalReader reads one vendor's header. It returns Unknown when the
// header is absent or says nothing it recognises.
type signalReader struct {
	header string
	read   func(value string) CacheVerdict
}

// signalReaders is the vendor table. Each row is documented in README.md
// (section "Cache signals") with its source.
var signalReaders = []signalReader{
	{"Cache-Status", readCacheStatus},          // RFC 9211
	{"Cf-Cache-Status", cloudflare.read},       // Cloudflare
	{"X-Cache", readXCache},                    // Fastly, CloudFront, Akamai, Azure, Squid
	{"X-Cache-Remote", readXCache},             // Akamai parent tier
	{"Akamai-Cache-Status", akamai.read},       // Akamai
	{"X-Cache-Status", upstreamStatus.read},    // nginx $upstream_cache_status
	{"X-Cache-Hits", readCacheHits},            // Fastly
	{"X-Varnish", readXVarnish},                // Varnish
	{"X-Vercel-Cache", upstreamStatus.read},    // Vercel
	{"Cdn-Cache", upstreamStatus.read},         // Bunny
	{"Age", readAge},                           // RFC 9111 §5.1, any cache
	{"X-Proxy-Cache", upstreamStatus.read},     // common nginx convention
	{"X-Rack-Cache", rackCache.read},           // Rack::Cache
	{"X-Drupal-Cache", upstreamStatus.read},    // Drupal page cache
	{"X-Litespeed-Cache", upstreamStatus.read}, // LiteSpeed
}

// ReadCacheSignal maps every cache-status header of a response to one
// verdict, the most alarming any of them gives, with all the evidence.
func ReadCacheSignal(h http.Header) CacheSignal {
	best := CacheSignal{Verdict: Unknown}
	var evidence []string
	for _, r := range signalReaders {
		values := h.Values(r.header)
		if len(values) == 0 {
			continue
		}
		value := strings.Join(values, ", ")
		v := r.read(value)
		if v == Unknown {
			continue
		}
		evidence = append(evidence, r.header+": "+value)
		if v.rank() > best.Verdict.rank() {
			best.Verdict = v
		}
	}
	best.Evidence = strings.Join(evidence, "; ")
	return best
}

// readCacheStatus reads RFC 9211 Cache-Status: a list of caches, each
// "id; param; param=value". hit, collapsed, stored=?1 or fwd decide.
func readCacheStatus(value string) CacheVerdict {
	best := Unknown
	for _, member := range strings.Split(value, ",") {
		v := Unknown
		for i, param := range strings.Split(member, ";") {
			if i == 0 {
				continue // the cache's identifier
			}
			name, val, _ := strings.Cut(strings.TrimSpace(param), "=")
			switch strings.ToLower(name) {
			case "hit":
				if val == "" || val == "?1" {
					v = higher(v, Hit)
				}
			case "collapsed":
				if val == "" || val == "?1" {
					v = higher(v, Collapsed)
				}
			case "stored":
				if val == "" || val == "?1" {
					v = higher(v, Stored)
				}
			case "fwd":
				switch strings.ToLower(val) {
				case "bypass", "method", "request":
					v = higher(v, Passed)
				default: // uri-miss, vary-miss, miss, stale, partial
					v = higher(v, fwdMiss(member))
				}
			}
		}
		best = higher(best, v)
	}
	return best
}

// fwdMiss: a forwarded miss is stored unless the member says stored=?0.
func fwdMiss(member string) CacheVerdict {
	if strings.Contains(strings.ReplaceAll(member, " ", ""), "stored=?0") {
		return Passed
	}
	return Stored
}

func higher(a, b CacheVerdict) CacheVerdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// readXCache reads X-Cache in its vendors' forms: Fastly "HIT" / "MISS, HIT"
// (one entry per node), CloudFront "Hit from cloudfront" /
// "RefreshHit from cloudfront", Akamai and Azure "TCP_HIT" / "TCP_MEM_HIT" /
// "TCP_REMOTE_HIT" / "TCP_MISS" / "PRIVATE_NOSTORE" / "CONFIG_NOCACHE",
// Squid "HIT from host" / "MISS from host".
func readXCache(value string) CacheVerdict {
	best := Unknown
	for _, entry := range strings.Split(value, ",") {
		word, _, _ := strings.Cut(strings.TrimSpace(entry), " ")
		word = strings.ToUpper(word)
		switch {
		case word == "PRIVATE_NOSTORE" || word == "CONFIG_NOCACHE" || word == "PASS":
			best = higher(best, Passed)
		case strings.HasSuffix(word, "HIT"):
			best = higher(best, Hit)
		case strings.HasSuffix(word, "MISS"):
			best = higher(best, Stored)
		}
	}
	return best
}

// readCacheHits reads Fastly's X-Cache-Hits: one count per node, "0, 2".
func readCacheHits(value string) CacheVerdict {
	seen := false
	for _, entry := range strings.Split(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(entry))
		if err != nil {
			continue
		}
		seen = true
		if n > 0 {
			return Hit
		}
	}
	if seen {
		return Stored
	}
	return Unknown
}

// readXVarnish reads X-Varnish: two transaction ids mean the object came
// from the cache (the second id is the request that stored it).
func readXVarnish(value string) CacheVerdict {
	if len(strings.Fields(value)) >= 2 {
		return Hit
	}
	return Unknown
}

// readAge reads Age: a positive age means a cache held the response.
func readAge(value string) CacheVerdict {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err == nil && n > 0 {
		return Hit
	}
	return Unknown
}

// vocabulary maps a vendor's status words, in upper case, to verdicts.
type vocabulary map[string]CacheVerdict

// read takes the first word of each comma-separated entry (one per cache
// node or step) and returns the most alarming verdict among them.
func (v vocabulary) read(value string) CacheVerdict {
	best := Unknown
	for entry := range strings.SplitSeq(value, ",") {
		word, _, _ := strings.Cut(strings.TrimSpace(entry), " ")
		best = higher(best, v[strings.ToUpper(word)]) // a missing word ranks below Unknown
	}
	return best
}

// cloudflare is CF-Cache-Status
// (developers.cloudflare.com/cache/concepts/cache-responses/).
var cloudflare = vocabulary{
	"HIT": Hit, "STALE": Hit, "UPDATING": Hit, "REVALIDATED": Hit,
	"MISS": Stored, "EXPIRED": Stored,
	"BYPASS": Passed, "DYNAMIC": Passed,
}

// akamai is Akamai-Cache-Status, e.g. "Hit from child" or
// "Miss from child, Hit from parent".
var akamai = vocabulary{
	"HIT": Hit, "REFRESHHIT": Hit, "HITSTALE": Hit,
	"MISS":         Stored,
	"NOTCACHEABLE": Passed,
}

// upstreamStatus is the nginx $upstream_cache_status vocabulary that
// several products share, plus Vercel's PRERENDER.
var upstreamStatus = vocabulary{
	"HIT": Hit, "STALE": Hit, "UPDATING": Hit, "REVALIDATED": Hit, "PRERENDER": Hit,
	"MISS": Stored, "EXPIRED": Stored,
	"BYPASS": Passed, "PASS": Passed, "UNCACHEABLE": Passed,
}

// rackCache is X-Rack-Cache, e.g. "fresh", "stale, valid, store",
// "miss, store", "pass".
var rackCache = vocabulary{
	"FRESH": Hit, "VALID": Hit,
	"STORE": Stored,
	"PASS":  Passed,
}
