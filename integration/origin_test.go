package integration

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// origin is the personalised site behind the caches, an in-process
// net/http server on 127.0.0.1. It makes, route by route, the caching
// mistakes the scenarios are about, and every body starts with
// "owner=<who>": the user named by the session cookie or the bearer token,
// "anonymous" without either, or "public" on pages that read neither.
type origin struct {
	port    int
	fetches atomic.Int64 // pages rendered, readiness probes aside
	minted  atomic.Int64 // session tokens handed out by /login
}

// slowPage is how long /live takes to render: long enough for concurrent
// requests to pile up behind the first one in the cache. It creates the
// race; nothing asserts on it.
const slowPage = 500 * time.Millisecond

func startOrigin(t *testing.T) *origin {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{port: l.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: o, ReadHeaderTimeout: requestTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return o
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/healthz" {
		o.fetches.Add(1)
	}
	h := w.Header()
	owner := cmp.Or(identify(r), "anonymous")
	h.Set("Content-Type", "text/html; charset=utf-8")
	p := r.URL.Path
	switch {
	case p == "/account":
		// The 2017 page: "no-cache" meant "revalidate" to the origin's
		// authors, and an Expires in the past looked like belt and braces.
		h.Set("Cache-Control", "no-cache")
		h.Set("Expires", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))
	case p == "/live":
		// The same mistake on a slow page.
		time.Sleep(slowPage)
		h.Set("Cache-Control", "no-cache")
		h.Set("Expires", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))
	case p == "/dashboard":
		// Private for browsers, an hour for the CDN: Surrogate-Control
		// takes precedence in Varnish's builtin VCL.
		h.Set("Cache-Control", "private")
		h.Set("Surrogate-Control", "max-age=3600")
	case strings.HasPrefix(p, "/orders/"):
		// Private for browsers, an hour for nginx. nginx 1.22 reads the
		// caching headers in the order they come, and X-Accel-Expires wins
		// over Cache-Control only when it comes first, as it does from an
		// application that sets it before its framework adds Cache-Control.
		writeInOrder(w, [][2]string{
			{"X-Accel-Expires", "3600"},
			{"Cache-Control", "private"},
			{"Content-Type", "text/html; charset=utf-8"},
		}, fmt.Sprintf("owner=%s\npath=%s\n", owner, p))
		return
	case p == "/wishlist":
		// A personal page marked public by mistake.
		h.Set("Cache-Control", "public, max-age=60")
	case p == "/api/me":
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "max-age=60")
	case p == "/login":
		// Every visit starts a new session; the answer is wrongly public.
		token := fmt.Sprintf("tok%d", o.minted.Add(1))
		h.Add("Set-Cookie", "session="+token+"; Path=/; HttpOnly")
		h.Set("Cache-Control", "public, max-age=300")
	case p == "/" || strings.HasPrefix(p, "/news/") || strings.HasPrefix(p, "/products/"):
		// The same for everyone, and tagged so: the fence lets it be
		// cached even when the visitor carries a session cookie.
		owner = "public"
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("X-Cache-Fence-Tag", "public")
	case strings.HasPrefix(p, "/static/"):
		// Served as a file server serves files: type by extension,
		// Last-Modified, Accept-Ranges.
		h.Set("Cache-Control", "public, max-age=86400, immutable")
		h.Del("Content-Type")
		serveFile(w, r, fmt.Sprintf("owner=public\npath=%s\n", p))
		return
	case p == "/healthz":
		owner = "public"
		h.Set("Cache-Control", "no-store")
	default:
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, "owner=%s\npath=%s\n", owner, p)
}

// fileTime is the modification time of every file the test origins serve.
var fileTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// serveFile answers with body as net/http's file server answers for a file
// at the request's path: Content-Type from the extension, Last-Modified,
// Accept-Ranges, conditional requests.
func serveFile(w http.ResponseWriter, r *http.Request, body string) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", cmp.Or(mime.TypeByExtension(path.Ext(r.URL.Path)), "application/octet-stream"))
	}
	http.ServeContent(w, r, path.Base(r.URL.Path), fileTime, strings.NewReader(body))
}

// writeInOrder sends a 200 response whose header lines come in the given
// order, which net/http cannot do: it sorts them.
func writeInOrder(w http.ResponseWriter, header [][2]string, body string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 200 OK\r\n")
	for _, kv := range header {
		fmt.Fprintf(buf, "%s: %s\r\n", kv[0], kv[1])
	}
	fmt.Fprintf(buf, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	buf.Flush()
}

// identify returns the user a request is for, from the session cookie or
// a bearer token; "" when anonymous.
func identify(r *http.Request) string {
	if c, err := r.Cookie("session"); err == nil {
		return c.Value
	}
	if u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return u
	}
	return ""
}

// ---- visitors ----

// visitor is one person in front of the cache. There are no cookie jars:
// each request carries exactly the credentials the visitor is meant to have.
type visitor struct {
	name   string // unique, for the ledger
	user   string // the session user; "" for an anonymous visitor
	bearer bool   // send the user as "Authorization: Bearer" instead of a cookie
}

func user(name string) visitor { return visitor{name: name, user: name} }
func anon(name string) visitor { return visitor{name: name} }

// response is what a visitor got, reduced to what the ledger and the hit
// counts need.
type response struct {
	status  int
	owner   string // from the body
	session string // the session token in Set-Cookie, if any
	hit     bool   // the cache says it served this from storage
	verdict string // the fence's Cache-Fence header, when it explains
	header  http.Header
}

// client has no cookie jar and no proxy, and follows no redirect.
var client = &http.Client{
	Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 64,
		DisableCompression:  true,
	},
	Timeout: requestTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

var ownerRE = regexp.MustCompile(`owner=([A-Za-z0-9_-]+)`)

// get fetches path from the cache as v. Everyone carries an analytics
// cookie, as real visitors do; only the session cookie identifies.
func (v visitor) get(ctx context.Context, c *cache, path string) (response, error) {
	return fetch(ctx, c, path, v.header())
}

// header is what v sends: an analytics cookie, and its session cookie or
// bearer token.
func (v visitor) header() http.Header {
	h := http.Header{}
	cookie := "_ga=GA1.2." + v.name
	switch {
	case v.user != "" && v.bearer:
		h.Set("Authorization", "Bearer "+v.user)
	case v.user != "":
		cookie += "; session=" + v.user
	}
	h.Set("Cookie", cookie)
	return h
}

// fetch sends GET path to the cache with exactly the headers h and reduces
// the answer to a response.
func fetch(ctx context.Context, c *cache, path string, h http.Header) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+path, nil)
	if err != nil {
		return response{}, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode, hit: c.hit(resp.Header), verdict: resp.Header.Get("Cache-Fence"), header: resp.Header}
	if m := ownerRE.FindSubmatch(body); m != nil {
		r.owner = string(m[1])
	}
	for _, sc := range resp.Cookies() {
		if sc.Name == "session" {
			r.session = sc.Value
		}
	}
	return r, nil
}

// ---- leak accounting ----

// ledger counts the responses that reached the wrong visitor: a page
// rendered for another user, or a session token that was already handed
// to someone else (the origin mints each token once, for one visitor).
type ledger struct {
	mu       sync.Mutex
	requests int
	leaks    int
	examples []string
	tokens   map[string]string // session token → the visitor who got it first
}

func newLedger() *ledger { return &ledger{tokens: map[string]string{}} }

// record books r as v's response and says whether it leaked.
func (l *ledger) record(v visitor, path string, r response) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests++
	var why []string
	if r.owner != "" && r.owner != "public" && r.owner != "anonymous" && r.owner != v.user {
		why = append(why, fmt.Sprintf("got %s's page", r.owner))
	}
	if r.session != "" {
		if first, ok := l.tokens[r.session]; ok && first != v.name {
			why = append(why, fmt.Sprintf("got session %s minted for %s", r.session, first))
		} else if !ok {
			l.tokens[r.session] = v.name
		}
	}
	if len(why) == 0 {
		return false
	}
	l.leaks++
	l.examples = append(l.examples, fmt.Sprintf("%s %s: %s", v.name, path, strings.Join(why, ", ")))
	return true
}
