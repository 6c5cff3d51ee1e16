// Package loggen writes synthetic CDN access logs for benchmarks: the
// traffic of a site behind the fence, in each format the log watcher
// reads, with no leak in it, so that a benchmark measures reading and
// checking, not reporting.
package loggen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cachefence/cachefence/fence"
)

// Key is the owner-stamp key of the generated logs.
var Key = []byte("loggen-stamp-key-0123456789abcdef")

// users is how many signed-in users the traffic has.
const users = 100

// RealtimeFields are the CloudFront real-time fields the generated
// records hold.
var RealtimeFields = []string{"timestamp", "c-ip", "sc-status", "cs-method", "cs-host", "cs-uri-stem",
	"x-edge-request-id", "cs-user-agent", "cs-cookie", "cs-uri-query", "x-edge-result-type"}

// request is one generated request, before it is written in a format.
type request struct {
	t                   time.Time
	host, path, query   string
	status              int
	hit                 bool
	cookie, auth, stamp string
	setCookie, personal bool
}

// Generator makes the traffic: seven requests in ten are assets and
// public pages served from cache, two are personal pages fetched from
// the origin and stamped for their requester, and one is a public page
// hit by a signed-in user.
type Generator struct {
	// LeakEvery, when not zero, makes every LeakEvery-th request (the
	// first, then every LeakEvery after it) a leak in place of what it
	// would have been: a personal page, stamped for the next user, served
	// from the shared cache to this one. Each is a finding in every
	// format: stamp_mismatch and cached_personal where stamps are logged,
	// cached_personal (private path) and collapse_suspected where not.
	LeakEvery int

	start  time.Time
	stamps [users]string
}

// New returns a Generator.
func New() *Generator {
	g := &Generator{start: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	for u := range users {
		g.stamps[u] = fence.OwnerStamp(Key, "cookie\x00session=user"+fmt.Sprint(u)+"\x00")
	}
	return g
}

func (g *Generator) request(i int) request {
	u := i % users
	r := request{t: g.start.Add(time.Duration(i) * time.Millisecond), host: "www.example.com", status: 200,
		cookie: fmt.Sprintf("_ga=GA1.2.%d; session=user%d", u, u)}
	switch k := i % 10; {
	case k < 7:
		r.path, r.hit = fmt.Sprintf("/static/app.%d.css", i%50), true
		if k < 3 {
			r.cookie = ""
		}
	case k < 9:
		r.path, r.query, r.stamp, r.personal = "/account", "tab=orders", g.stamps[u], true
	default:
		r.path, r.hit = fmt.Sprintf("/news/%d", i%20), true
	}
	if g.LeakEvery > 0 && i%g.LeakEvery == 0 {
		r.path, r.query, r.stamp, r.personal, r.hit = "/account", "tab=orders", g.stamps[(u+1)%users], true, true
	}
	return r
}

// Header writes what a format's file starts with: CloudFront's W3C
// directives, nothing for the others.
func Header(w io.Writer, format string) error {
	if format != "cloudfront" {
		return nil
	}
	_, err := io.WriteString(w, "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n")
	return err
}

// Line appends request i in format to b.
func (g *Generator) Line(b []byte, format string, i int) []byte {
	r := g.request(i)
	word := func(hit, miss string) string {
		if r.hit {
			return hit
		}
		return miss
	}
	uri := r.path
	if r.query != "" {
		uri += "?" + r.query
	}
	switch format {
	case "cloudfront":
		return fmt.Appendf(b, "%s\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t%s\t%d\t-\tMozilla/5.0%%20(X11;%%20Linux%%20x86_64)\t%s\t%s\t%s\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\t%s\thttps\t23\t0.001\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t%[5]s\tHTTP/2.0\t-\t-\t11040\t0.001\t%[5]s\ttext/html\t78\t-\t-\n",
			r.t.Format("2006-01-02\t15:04:05"), r.path, r.status, dashed(r.query), dashed(strings.ReplaceAll(r.cookie, " ", "%20")), word("Hit", "Miss"), r.host)
	case "cloudfront-realtime":
		return fmt.Appendf(b, "%d.%03d\t192.0.2.100\t%d\tGET\t%s\t%s\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\tMozilla/5.0%%20(X11;%%20Linux%%20x86_64)\t%s\t%s\t%s\n",
			r.t.Unix(), r.t.Nanosecond()/1e6, r.status, r.host, uri, dashed(strings.ReplaceAll(r.cookie, " ", "%20")), dashed(r.query), word("Hit", "Miss"))
	case "cloudflare":
		rec := map[string]any{"EdgeStartTimestamp": r.t.UnixNano(), "RayID": fmt.Sprintf("7c0a4b2e9d1f%04x", i%65536),
			"ClientRequestHost": r.host, "ClientRequestMethod": "GET", "ClientRequestURI": uri, "EdgeResponseStatus": r.status,
			"CacheCacheStatus": word("hit", "dynamic"), "ClientIP": "192.0.2.100", "EdgeResponseBytes": 11040,
			"ClientRequestUserAgent": "Mozilla/5.0 (X11; Linux x86_64)", "RequestHeaders": map[string]string{},
			"ResponseHeaders": map[string]string{"cache-fence-owner": r.stamp}, "Cookies": cookies(r.cookie)}
		return appendJSON(b, rec)
	case "fastly":
		rec := map[string]any{"time": r.t.UnixMilli(), "host": r.host, "method": "GET", "url": uri, "status": r.status,
			"fastly_state": word("HIT-CLUSTER", "PASS"), "cookie": nullable(r.cookie), "authorization": "(null)",
			"cache_fence_owner": nullable(r.stamp), "set_cookie": r.setCookie}
		return appendJSON(b, rec)
	case "akamai":
		rec := map[string]string{"version": "1", "streamId": "12345", "cp": "123456", "reqId": fmt.Sprintf("%x", i),
			"reqTimeSec": fmt.Sprintf("%d.%03d", r.t.Unix(), r.t.Nanosecond()/1e6), "bytes": "4995", "cliIP": "192.0.2.100",
			"statusCode": fmt.Sprint(r.status), "proto": "HTTPS", "reqHost": r.host, "reqMethod": "GET", "reqPath": r.path,
			"queryStr": r.query, "cacheStatus": word("1", "0"), "cacheable": word("1", "0"),
			"cookie": strings.ReplaceAll(r.cookie, " ", "%20"), "customField": r.stamp,
			"UA": "Mozilla%2F5.0+%28X11%3B+Linux+x86_64%29"}
		return appendJSON(b, rec)
	case "gcp":
		rec := map[string]any{"timestamp": r.t.Format(time.RFC3339Nano), "insertId": fmt.Sprintf("%x", i),
			"httpRequest": map[string]any{"requestMethod": "GET", "requestUrl": "https://" + r.host + uri, "status": r.status,
				"cacheLookup": true, "cacheHit": r.hit, "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"},
			"jsonPayload": map[string]string{"@type": "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry",
				"statusDetails": word("response_from_cache", "response_sent_by_backend")},
			"resource": map[string]any{"type": "http_load_balancer"}}
		return appendJSON(b, rec)
	case "nginx", "varnishncsa":
		ts := fmt.Sprintf("%d.%03d", r.t.Unix(), r.t.Nanosecond()/1e6)
		cache := word("HIT", "MISS")
		if format == "varnishncsa" {
			ts, cache = fmt.Sprint(r.t.UnixMilli()), word("hit", "pass")
		}
		return fmt.Appendf(b, "%s\t%s\tGET\t%s\t%d\t%s\t%s\t-\t-\t%s\n", ts, r.host, uri, r.status, cache, dashed(r.stamp), dashed(r.cookie))
	}
	panic("loggen: unknown format " + format)
}

// Write writes the lines from, from+1, … of n requests in format to w,
// after the format's header when from is 0: a log written on from an
// earlier call has it already.
func (g *Generator) Write(w io.Writer, format string, from, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if from == 0 {
		if err := Header(bw, format); err != nil {
			return err
		}
	}
	var line []byte
	for i := from; i < from+n; i++ {
		line = g.Line(line[:0], format, i)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nullable(s string) string {
	if s == "" {
		return "(null)"
	}
	return s
}

// cookies is Logpush's Cookies object of a Cookie header.
func cookies(header string) map[string]string {
	m := map[string]string{}
	for pair := range strings.SplitSeq(header, "; ") {
		if name, value, ok := strings.Cut(pair, "="); ok {
			m[name] = value
		}
	}
	return m
}

func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(append(b, j...), '\n')
}
