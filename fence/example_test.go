package fence_test

import (
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/cachefence/cachefence/fence"
)

// A policy is built once from the operator's configuration. Each request's
// facts are read before the handler runs, from the URL as the client sent
// it; Apply then decides on the response just before its headers leave,
// and rewrites them when it fences.
func Example() {
	policy, err := fence.New(fence.Config{
		IgnoreCookies: []string{"_ga*"},
		PublicPaths:   []string{"/static/*"},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The 2017 page: personal, sent with no-cache and an Expires in the
	// past, which a CDN read as a zero-second cache life.
	account, _ := url.ParseRequestURI("/account")
	req := policy.Request(http.Header{"Cookie": {"_ga=GA1.2.3; session=alice"}}, account)
	resp := http.Header{
		"Cache-Control": {"no-cache"},
		"Expires":       {"Thu, 01 Jan 1970 00:00:00 GMT"},
		"Content-Type":  {"text/html; charset=utf-8"},
	}
	reasons := policy.Apply(&req, 0, http.StatusOK, resp)
	fmt.Println(reasons.Verdict(), reasons.Names(), resp.Get("Cache-Control"))

	// A stylesheet on a public path, from a file server, to a visitor who
	// carries only an analytics cookie.
	css, _ := url.ParseRequestURI("/static/app.css")
	req = policy.Request(http.Header{"Cookie": {"_ga=GA1.2.3"}}, css)
	resp = http.Header{
		"Cache-Control": {"public, max-age=86400"},
		"Content-Type":  {"text/css; charset=utf-8"},
		"Last-Modified": {"Sun, 01 Nov 2026 00:00:00 GMT"},
	}
	reasons = policy.Apply(&req, 0, http.StatusOK, resp)
	fmt.Println(reasons.Verdict(), reasons.Names(), resp.Get("Cache-Control"))

	// Output:
	// fenced [session_cookie] private, no-store
	// shared [] public, max-age=86400
}
