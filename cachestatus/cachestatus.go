// Package cachestatus maps what shared caches say about a response (their
// cache-status headers, or the same words in their logs) to one
// vocabulary: hit, collapsed, stored, passed or unknown.
//
// Every vendor writes its own words in its own header. This package is the
// one place that knows them, so that the probe (which reads response
// headers) and the log watcher (which reads the same words from log
// fields) agree on what "HIT", "TCP_MEM_HIT" or "fwd=bypass" means. The
// table, with its sources, is in docs/probe.md ("Cache signals").
package cachestatus

import (
	"net/http"
	"strconv"
	"strings"
)

// Verdict is what a cache says it did with a response.
type Verdict string

// The verdicts, from the most to the least alarming for a personal page.
const (
	// Hit: the response was served from a shared cache's storage.
	Hit Verdict = "hit"
	// Collapsed: the response was shared with requests that waited for the
	// same origin fetch (RFC 9211 collapsed), the 2017 mechanism.
	Collapsed Verdict = "collapsed"
	// Stored: fetched from the origin by a cache that may have kept it (a
	// miss).
	Stored Verdict = "stored"
	// Passed: a cache saw the response and declined to store it.
	Passed Verdict = "passed"
	// Unknown: no cache said anything the table understands.
	Unknown Verdict = "unknown"
)

// rank orders verdicts; when several caches speak, the most alarming wins.
func (v Verdict) rank() int {
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

// higher returns the more alarming of a and b.
func higher(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Signal is a verdict with the header lines that gave it.
type Signal struct {
	Verdict Verdict `json:"verdict"`
	// Evidence quotes every header that spoke, "Name: value; ...".
	Evidence string `json:"evidence,omitempty"`
}

// Words is a vocabulary of status words, compared without regard to case.
// A site's own cache-status header (X-Micro-Cache: HIT) is described by
// one, and the table's vendors are built from them.
type Words struct {
	Hit  []string `json:"hit,omitempty"`
	Miss []string `json:"miss,omitempty"`
	Pass []string `json:"pass,omitempty"`
}

// vocabulary is Words ready to read: upper-cased word to verdict.
type vocabulary map[string]Verdict

func (w Words) vocabulary() vocabulary {
	v := vocabulary{}
	for _, list := range []struct {
		words   []string
		verdict Verdict
	}{{w.Pass, Passed}, {w.Miss, Stored}, {w.Hit, Hit}} {
		for _, word := range list.words {
			v[strings.ToUpper(strings.TrimSpace(word))] = list.verdict
		}
	}
	return v
}

// read takes the first word of each comma-separated entry (one per cache
// node or step) and returns the most alarming verdict among them.
func (v vocabulary) read(value string) Verdict {
	best := Unknown
	for entry := range strings.SplitSeq(value, ",") {
		word, _, _ := strings.Cut(strings.TrimSpace(entry), " ")
		best = higher(best, v[strings.ToUpper(word)]) // a missing word ranks as Unknown
	}
	return best
}

// Reader reads the cache-status headers of responses. The zero value is
// not usable; start from New.
type Reader struct {
	// headers is the table, in the order evidence is quoted. Names are
	// canonical.
	headers []header
}

// header reads one header's values.
type header struct {
	name string
	read func(value string) Verdict
}

// The vendors' vocabularies, read by vocabulary.read.
var (
	// cloudflare is CF-Cache-Status
	// (developers.cloudflare.com/cache/concepts/cache-responses/).
	cloudflare = Words{
		Hit:  []string{"HIT", "STALE", "UPDATING", "REVALIDATED"},
		Miss: []string{"MISS", "EXPIRED"},
		Pass: []string{"BYPASS", "DYNAMIC"},
	}.vocabulary()
	// akamai is Akamai-Cache-Status, e.g. "Hit from child" or
	// "Miss from child, Hit from parent".
	akamai = Words{
		Hit:  []string{"HIT", "REFRESHHIT", "HITSTALE"},
		Miss: []string{"MISS"},
		Pass: []string{"NOTCACHEABLE"},
	}.vocabulary()
	// upstreamStatus is nginx's $upstream_cache_status, which several
	// products share, plus Vercel's PRERENDER.
	upstreamStatus = Words{
		Hit:  []string{"HIT", "STALE", "UPDATING", "REVALIDATED", "PRERENDER"},
		Miss: []string{"MISS", "EXPIRED"},
		Pass: []string{"BYPASS", "PASS", "UNCACHEABLE"},
	}.vocabulary()
	// rackCache is X-Rack-Cache, e.g. "fresh", "stale, valid, store",
	// "miss, store", "pass".
	rackCache = Words{
		Hit:  []string{"FRESH", "VALID"},
		Miss: []string{"STORE"},
		Pass: []string{"PASS"},
	}.vocabulary()
)

// vendors is the table of known headers; each row is documented, with
// its source, in docs/probe.md.
var vendors = []header{
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

// defaultReader reads the vendors' headers only.
var defaultReader = &Reader{headers: vendors}

// New returns a Reader of the vendors' headers plus the site's own, given
// as header name to vocabulary. A site header replaces a vendor's of the
// same name: the site knows what its cache writes.
func New(site map[string]Words) *Reader {
	if len(site) == 0 {
		return defaultReader
	}
	r := &Reader{}
	for _, h := range vendors {
		if _, replaced := site[h.name]; !replaced {
			r.headers = append(r.headers, h)
		}
	}
	for name, words := range site {
		r.headers = append(r.headers, header{http.CanonicalHeaderKey(name), words.vocabulary().read})
	}
	return r
}

// Read maps every cache-status header of a response to one verdict, the
// most alarming any of them gives, with all the evidence.
func (r *Reader) Read(h http.Header) Signal {
	best := Signal{Verdict: Unknown}
	var evidence []string
	for _, hd := range r.headers {
		values := h.Values(hd.name)
		if len(values) == 0 {
			continue
		}
		value := strings.Join(values, ", ")
		v := hd.read(value)
		if v == Unknown {
			continue
		}
		evidence = append(evidence, hd.name+": "+value)
		best.Verdict = higher(best.Verdict, v)
	}
	best.Evidence = strings.Join(evidence, "; ")
	return best
}

// Value reads one value as the named header carries it, or Unknown when
// the Reader does not know the header. A log field that records a
// header's words (Cloudflare's CacheCacheStatus, nginx's
// $upstream_cache_status) is read the same way.
func (r *Reader) Value(name, value string) Verdict {
	name = http.CanonicalHeaderKey(name)
	for _, hd := range r.headers {
		if hd.name == name {
			return hd.read(value)
		}
	}
	return Unknown
}

// Read reads h with the vendors' headers only; see Reader.Read.
func Read(h http.Header) Signal { return defaultReader.Read(h) }

// Value reads one vendor header's value; see Reader.Value.
func Value(name, value string) Verdict { return defaultReader.Value(name, value) }

// readCacheStatus reads RFC 9211 Cache-Status: a list of caches, each
// "id; param; param=value". hit, collapsed, stored=?1 or fwd decide.
func readCacheStatus(value string) Verdict {
	best := Unknown
	for member := range strings.SplitSeq(value, ",") {
		v := Unknown
		params := strings.Split(member, ";")
		for _, param := range params[1:] { // params[0] is the cache's identifier
			name, val, _ := strings.Cut(strings.TrimSpace(param), "=")
			yes := val == "" || val == "?1"
			switch strings.ToLower(name) {
			case "hit":
				if yes {
					v = higher(v, Hit)
				}
			case "collapsed":
				if yes {
					v = higher(v, Collapsed)
				}
			case "stored":
				if yes {
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
func fwdMiss(member string) Verdict {
	if strings.Contains(strings.ReplaceAll(member, " ", ""), "stored=?0") {
		return Passed
	}
	return Stored
}

// readXCache reads X-Cache in its vendors' forms: Fastly "HIT" / "MISS, HIT"
// (one entry per node), CloudFront "Hit from cloudfront" /
// "RefreshHit from cloudfront", Akamai and Azure "TCP_HIT" / "TCP_MEM_HIT" /
// "TCP_REMOTE_HIT" / "TCP_MISS" / "PRIVATE_NOSTORE" / "CONFIG_NOCACHE",
// Squid "HIT from host" / "MISS from host".
func readXCache(value string) Verdict {
	best := Unknown
	for entry := range strings.SplitSeq(value, ",") {
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
func readCacheHits(value string) Verdict {
	seen := false
	for entry := range strings.SplitSeq(value, ",") {
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
func readXVarnish(value string) Verdict {
	if len(strings.Fields(value)) >= 2 {
		return Hit
	}
	return Unknown
}

// readAge reads Age: a positive age means a cache held the response.
func readAge(value string) Verdict {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err == nil && n > 0 {
		return Hit
	}
	return Unknown
}
