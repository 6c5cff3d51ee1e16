package fencehttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/fencehttp"
)

// A Go origin without Caddy: the account page is sent with no-cache and a
// past Expires, as in 2017; with a session cookie it leaves unstorable.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("/account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
		io.WriteString(w, "your account")
	})
	policy, err := fence.New(fence.Config{IgnoreCookies: []string{"_ga*"}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(&fencehttp.Handler{Policy: policy, Next: mux})
	defer srv.Close()

	for _, cookie := range []string{"_ga=GA1.2.3", "_ga=GA1.2.3; sid=alice"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/account", nil)
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("%-24s Cache-Control: %s; Surrogate-Control: %q\n", cookie,
			resp.Header.Get("Cache-Control"), resp.Header.Get("Surrogate-Control"))
	}
	// Output:
	// _ga=GA1.2.3              Cache-Control: no-cache; Surrogate-Control: ""
	// _ga=GA1.2.3; sid=alice   Cache-Control: private, no-store; Surrogate-Control: "no-store"
}
