package caddymodule

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/cachefence/cachefence/internal/rfcgrammar"
)

// fencedFields are the fields, besides Cache-Control, that a fenced
// response always carries, written out here as the design names them.
var fencedFields = map[string]string{
	"Surrogate-Control": "no-store",
	"Cdn-Cache-Control": "no-store",
	"Edge-Control":      "no-store",
	"X-Accel-Expires":   "0",
}

// How the fuzzed next handler commits its response.
const (
	commitWriteHeader = iota
	commitWrite
	commitReadFrom
	commitFlush
	commitNothing
	commitError
	numCommits
)

// FuzzHandler drives the whole handler, wrapper included, with fuzzed
// request and response headers and every way of committing a response.
// Invariants: nothing panics, and whenever one of the unambiguous rules
// applies (worked out here independently of package fence) the response
// leaves with exactly `Cache-Control: private, no-store` and the other
// fencedFields; a response that leaves shared carries none of them.
func FuzzHandler(f *testing.F) {
	f.Add(false, "", "", "public, max-age=60", "", "", "/", "text/html", uint8(commitWrite))
	f.Add(true, "", "", "public, max-age=60", "", "", "/", "text/html", uint8(commitWriteHeader))
	f.Add(false, "sid=1", "", "no-cache", "", "", "/account", "text/html", uint8(commitReadFrom))
	f.Add(false, "", "s=1", "public", "", "", "/login", "text/html", uint8(commitFlush))
	f.Add(false, "", "", "max-age=1\nprivate", "", "", "/", "", uint8(commitNothing))
	f.Add(false, "", "", "max-age=x", "Accept-Encoding, Cookie", "", "/", "", uint8(commitError))
	f.Add(false, "_ga=1", "", "private=\"x\"", "*", "maybe", "/a.css", "application/json", uint8(commitWrite))
	// Issue 9's classes.
	f.Add(false, "sid=1", "", "public, max-age=60", "", "", "/STATIC/app.css", "text/css", uint8(commitWrite))
	f.Add(false, "_ga=1 sid=2", "", "max-age=60", "", "", "/", "text/html", uint8(commitWrite))
	f.Add(false, "s.id=2", "", "max-age=60", "", "", "/", "text/html", uint8(commitWrite))
	f.Add(false, "", "", "max-age=60", "", "", "/cart;jsessionid=ABC", "text/html", uint8(commitWriteHeader))
	f.Add(false, "sid=1", "", "no-cache", "", "", "/account/x.css", "text/plain", uint8(commitReadFrom))
	f.Add(false, "", "", "s-maxage=1, stale-while-revalidate", "Cookie", "", "/blog/1", "text/html", uint8(commitWrite))
	h := &Handler{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*"}, PublicPaths: []string{"/static/*"}, TagHeader: "X-Tag"}
	if err := h.Provision(caddy.Context{Context: context.Background()}); err != nil {
		f.Fatal(err)
	}
	h.logger = zap.NewNop()
	f.Fuzz(func(t *testing.T, auth bool, cookie, setCookie, cacheControl, vary, tag, path, contentType string, commit uint8) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = path
		r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
		if auth {
			r.Header["Authorization"] = []string{""}
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		var ccLines []string
		if cacheControl != "" {
			ccLines = strings.Split(cacheControl, "\n")
		}
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
			hdr := w.Header()
			for name, v := range map[string]string{"Set-Cookie": setCookie, "Vary": vary, "X-Tag": tag, "Content-Type": contentType} {
				if v != "" {
					hdr[name] = []string{v}
				}
			}
			if ccLines != nil {
				hdr["Cache-Control"] = ccLines
			}
			switch commit % numCommits {
			case commitWriteHeader:
				w.WriteHeader(http.StatusOK)
			case commitWrite:
				io.WriteString(w, "body")
			case commitReadFrom:
				w.(io.ReaderFrom).ReadFrom(strings.NewReader("body"))
			case commitFlush:
				http.NewResponseController(w).Flush()
			case commitError:
				return caddyhttp.Error(http.StatusBadGateway, errors.New("upstream down"))
			}
			return nil
		})
		rec := httptest.NewRecorder()
		err := h.ServeHTTP(rec, r, next)
		if commit%numCommits != commitError && err != nil {
			t.Fatalf("unexpected error %v", err)
		}

		mustFence := auth || setCookie != "" || commit%numCommits == commitError
		for _, line := range ccLines {
			if !rfcgrammar.CacheControlValid(line) {
				mustFence = true
			}
			// A restriction on one of several lines may be missed by a
			// cache that reads only the first.
			for _, name := range rfcgrammar.DirectiveNames(line) {
				if len(ccLines) > 1 && (name == "private" || name == "no-store" || name == "no-cache") {
					mustFence = true
				}
			}
		}
		// A session cookie that is first in the header identifies.
		sessionFirst := strings.HasPrefix(strings.TrimLeft(cookie, " "), "sid=")
		for _, member := range strings.Split(vary, ",") {
			member = strings.TrimSpace(member)
			if member == "*" || (strings.EqualFold(member, "cookie") && sessionFirst) {
				mustFence = true
			}
		}
		if tag != "" && !strings.EqualFold(strings.TrimSpace(tag), "private") && !strings.EqualFold(strings.TrimSpace(tag), "public") {
			mustFence = true
		}
		got := rec.Result().Header
		fenced := slices.Equal(got.Values("Cache-Control"), []string{"private, no-store"})
		if mustFence && !fenced {
			t.Errorf("Cache-Control %q, want exactly private, no-store", got.Values("Cache-Control"))
		}
		for name, want := range fencedFields {
			// The origin here sends none of these: a shared response
			// carries none, a fenced one exactly the fence's.
			if v := got.Values(name); fenced && (len(v) != 1 || v[0] != want) || !fenced && len(v) > 0 {
				t.Errorf("%s %q on a response fenced=%v, want exactly [%s] when fenced, none when shared", name, v, fenced, want)
			}
		}
		if got.Get("X-Tag") != "" {
			t.Errorf("tag header leaked: %q", got.Get("X-Tag"))
		}
	})
}
