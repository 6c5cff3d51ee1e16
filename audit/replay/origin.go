package replay

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cachefence/cachefence/fence"
)

// variant is one row of what the origin sends: the caching headers it
// puts beside a page, made for the user the page names.
type variant struct {
	name string
	// says is the headers in words, for reports.
	says    string
	headers func(setCookie string) http.Header
}

// expired2017 is the past Expires of the 2017 incident: the origin meant
// "do not cache", and a CDN read it as a zero-second life.
const expired2017 = "Thu, 22 Jun 2017 00:00:00 GMT"

// variants are the origin's answers, in the order the report lists them.
var variants = []variant{
	{"set_cookie", "Set-Cookie and no caching header", func(c string) http.Header {
		return http.Header{"Set-Cookie": {c + "; Path=/; HttpOnly"}}
	}},
	{"private", "Cache-Control: private", func(string) http.Header {
		return http.Header{"Cache-Control": {"private"}}
	}},
	{"private_no_store", "Cache-Control: private, no-store", func(string) http.Header {
		return http.Header{"Cache-Control": {"private, no-store"}}
	}},
	{"no_cache_expired", "Cache-Control: no-cache and Expires: " + expired2017, func(string) http.Header {
		return http.Header{"Cache-Control": {"no-cache"}, "Expires": {expired2017}}
	}},
	{"none", "no caching header", func(string) http.Header { return http.Header{} }},
}

// headersFor returns what the origin sends for variant v, rewritten by the
// fence when fenced; setCookie is the cookie a Set-Cookie hands out.
func (v variant) headersFor(fenced bool, setCookie string) http.Header {
	h := v.headers(setCookie)
	if fenced {
		fence.Rewrite(h)
	}
	return h
}

// cellHeader names the cell a request belongs to. The path names it too
// (cellPath), but a configuration may route a request to the origin under
// another path (try_files to /index.php).
const cellHeader = "Cachefence-Cell"

var cellPath = regexp.MustCompile(`cfr[0-9]+`)

// originCell is what the origin knows of one cell.
type originCell struct {
	variant variant
	fenced  bool
	hold    bool // concurrent: hold each answer so that requests overlap
	// arrived is closed when the first user's request reaches the origin.
	arrived chan struct{}
	once    sync.Once
}

// origin is the synthetic origin: it answers each cell's requests with a
// page naming the user whose credential came with it, and the cell's
// headers.
type origin struct {
	cells map[string]*originCell // written before serving, read after
	users []user
	// cookie names the session a Set-Cookie hands out; its value is the
	// user's marker, so that a replayed one is seen.
	cookie string
	hold   time.Duration
	srv    *http.Server
	addr   string
}

// user is an identity of the replay: the marker its pages carry, and its
// credential, which only the origin and the requests ever see.
type user struct {
	marker, token string
}

// startOrigin serves the cells on a free port of 127.0.0.1, holding the
// answers of concurrent cells for hold.
func startOrigin(users []user, cookie string, cells map[string]*originCell, hold time.Duration) (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("synthetic origin: %w", err)
	}
	o := &origin{cells: cells, users: users, cookie: cookie, hold: hold, addr: ln.Addr().String()}
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
	// Serve ends with an error only when its listener fails; the
	// requests then fail, and Run says so.
	go o.srv.Serve(ln) //nolint:errcheck
	return o, nil
}

func (o *origin) close() { _ = o.srv.Shutdown(context.Background()) }

// whom returns the user whose credential a request carries, by its
// token in any header (Cookie, Authorization or another), or the
// anonymous visitor.
func (o *origin) whom(r *http.Request) (user, int) {
	for _, vs := range r.Header {
		for _, v := range vs {
			for i, u := range o.users {
				if strings.Contains(v, u.token) {
					return u, i
				}
			}
		}
	}
	return user{marker: anonymousMarker}, -1
}

// anonymousMarker names the page of a request without a credential.
const anonymousMarker = "anonymous-visitor"

// ServeHTTP answers a cell's request with the cell's headers and a page
// naming whoever sent it, after the hold in a concurrent cell.
func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(cellHeader)
	if id == "" {
		id = cellPath.FindString(r.URL.Path)
	}
	c := o.cells[id]
	if c == nil {
		// A health check, a probe, or the readiness poll.
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "cachefence synthetic origin")
		return
	}
	u, i := o.whom(r)
	if i == 0 {
		c.once.Do(func() { close(c.arrived) })
	}
	if c.hold {
		select {
		case <-time.After(o.hold):
		case <-r.Context().Done():
			return
		}
	}
	for k, vs := range c.variant.headersFor(c.fenced, o.cookie+"="+u.marker) {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Account</title><p>Signed in as %s</p>\n", u.marker)
}
