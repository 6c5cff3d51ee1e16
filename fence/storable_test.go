package fence

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/internal/storabletable"
)

// The table that cachefence probe and cachefence logs are held to as well.
func TestSharedStorableTable(t *testing.T) {
	rows, err := storabletable.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		t.Run(row.Name, func(t *testing.T) {
			got := SharedStorable(row.Status, row.Header)
			if got.OK != row.Storable || got.MaxAge != row.MaxAge {
				t.Fatalf("SharedStorable(%d, %v) = %v %d %q, want %v %d", row.Status, row.Header, got.OK, got.MaxAge, got.Why, row.Storable, row.MaxAge)
			}
			if got.OK != (len(got.Why) == 0) {
				t.Errorf("OK %v with reasons %q", got.OK, got.Why)
			}
			if !row.Storable && !strings.Contains(strings.Join(got.Why, "\n"), row.Why) {
				t.Errorf("reasons %q do not say %q", got.Why, row.Why)
			}
		})
	}
}

// What the table cannot hold: responses the probe and the logs never see,
// and the words of each reason.
func TestSharedStorable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		want   []string
	}{
		{"interim response", 103, http.Header{"Cache-Control": {"max-age=60"}}, []string{"status 103 is not a final response"}},
		{"Set-Cookie announced as a trailer", 200, http.Header{"Trailer": {"Server-Timing, set-cookie"}},
			[]string{"it sets a cookie: cache_fence fences it, and most CDNs do not store it"}},
		{"the cookie is never quoted", 200, http.Header{"Set-Cookie": {"session=secret-value"}},
			[]string{"it sets a cookie: cache_fence fences it, and most CDNs do not store it"}},
		{"every reason at once", 500, http.Header{"Cache-Control": {"no-store, private, no-cache=x, no-store", "public"}, "Vary": {"*"}},
			[]string{
				`Cache-Control "no-store, private, no-cache=x, no-store, public" holds directives that caches resolve differently: contradictory, repeated, or a restriction on one of several lines`,
				`Cache-Control "no-store, private, no-cache=x, no-store, public" says private and no-store`,
				`Cache-Control "no-store, private, no-cache=x, no-store, public" qualifies private or no-cache with field names, which many caches read as unqualified`,
				`Vary "*" holds *: no stored response can be reused (RFC 9111 §4.1), and nginx and Varnish do not store it`,
			}},
		{"invalid, and no freshness for its status", 302, http.Header{"Cache-Control": {"max-age"}},
			[]string{
				`Cache-Control "max-age" does not parse the same way in every cache`,
				"status 302 is not cacheable by default and no explicit freshness is given",
			}},
		{"public is explicit permission", 302, http.Header{"Cache-Control": {"public"}}, nil},
		{"an empty Expires is an Expires", 302, http.Header{"Expires": {""}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SharedStorable(tc.status, tc.header)
			if got.OK != (len(tc.want) == 0) || strings.Join(got.Why, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("SharedStorable = %v %q, want %q", got.OK, got.Why, tc.want)
			}
		})
	}
}
