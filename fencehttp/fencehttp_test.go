package fencehttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/fencehttp"
)

// origin is a small application: a page that greets whoever its session
// cookie names, with the 2017 headers, and a public asset.
func origin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
		c, err := r.Cookie("sid")
		if err != nil {
			io.WriteString(w, "please log in")
			return
		}
		io.WriteString(w, "account of "+c.Value)
	})
	mux.HandleFunc("/static/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Last-Modified", "Mon, 23 Nov 2026 12:00:00 GMT")
		io.WriteString(w, "body{}")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
	})
	return mux
}

func serve(t *testing.T, c fence.Config, observe func(*http.Request, int, fence.Reasons)) *httptest.Server {
	t.Helper()
	policy, err := fence.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&fencehttp.Handler{Policy: policy, Next: origin(), Observe: observe})
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestHandler(t *testing.T) {
	type verdict struct {
		path    string
		status  int
		reasons string
	}
	var seen []verdict
	srv := serve(t, fence.Config{IgnoreCookies: []string{"_ga*"}, PublicPaths: []string{"/static/*"}},
		func(r *http.Request, status int, rs fence.Reasons) {
			seen = append(seen, verdict{r.URL.Path, status, rs.String()})
		})
	for _, tc := range []struct {
		path, cookie string
		fenced       bool
		reasons      string
	}{
		{"/account", "", false, ""},
		{"/account", "_ga=GA1.2.3", false, ""},
		{"/account", "_ga=1; sid=alice", true, "session_cookie"},
		{"/static/app.css", "sid=alice", false, ""},
		{"/empty", "sid=alice", true, "session_cookie"}, // nothing written: the implicit 200
		{"/account;jsessionid=x", "", true, "credential_param"},
	} {
		seen = seen[:0]
		resp := get(t, srv.URL+tc.path, tc.cookie)
		cc := resp.Header.Values("Cache-Control")
		surrogate := resp.Header.Get("Surrogate-Control")
		if tc.fenced {
			if len(cc) != 1 || cc[0] != "private, no-store" || resp.Header.Get("Edge-Control") != "no-store" || surrogate != "no-store" {
				t.Errorf("%s with %q: Cache-Control %q, Edge-Control %q, Surrogate-Control %q; want fenced",
					tc.path, tc.cookie, cc, resp.Header.Get("Edge-Control"), surrogate)
			}
		} else if strings.Contains(strings.Join(cc, ","), "no-store") || resp.Header.Get("Edge-Control") != "" || surrogate != "" {
			t.Errorf("%s with %q: a shared response was rewritten: %v", tc.path, tc.cookie, resp.Header)
		}
		if len(seen) != 1 || seen[0].reasons != tc.reasons || seen[0].status != resp.StatusCode {
			t.Errorf("%s with %q: observed %+v, want one verdict %q with status %d", tc.path, tc.cookie, seen, tc.reasons, resp.StatusCode)
		}
	}
}

// The same rules as the Caddy module: Set-Cookie fences even without
// credentials, and the owner stamp is added.
func TestHandlerStampsAndSetCookie(t *testing.T) {
	key := []byte("0123456789abcdef")
	policy, err := fence.New(fence.Config{StampKey: key})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&fencehttp.Handler{Policy: policy, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "new"})
		w.Header().Set("Cache-Fence-Owner", "forged")
		io.WriteString(w, "welcome")
	})})
	defer srv.Close()
	resp := get(t, srv.URL+"/login", "sid=alice")
	if resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("Cache-Control %q, want private, no-store", resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/login", nil)
	req.Header.Set("Cookie", "sid=alice")
	if stamp := resp.Header.Get("Cache-Fence-Owner"); !fence.VerifyOwnerStamp(key, policy.Identity(req.Header, req.URL), stamp) {
		t.Errorf("stamp %q does not verify for the requester", stamp)
	}
}
