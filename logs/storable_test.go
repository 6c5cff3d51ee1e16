package logs

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/internal/storabletable"
)

// A response served from storage is cached_personal exactly where the
// fence's judge says no shared cache may store it, as a log that carries
// its Cache-Control, Expires and Vary tells it (one value each, as logs
// hold them); a response the cache did not serve from storage is no
// finding, whatever its headers.
func TestCachedPersonalVerdictIsTheFences(t *testing.T) {
	rows, err := storabletable.Rows()
	if err != nil {
		t.Fatal(err)
	}
	ch := newTestChecker(t, testConfig())
	for i, row := range rows {
		t.Run(row.Name, func(t *testing.T) {
			r := Record{Line: int64(i + 1), Host: "www.example.com", Path: "/page", Status: row.Status,
				StorageLogged: true, SetCookie: len(row.Header["Set-Cookie"]) > 0,
				CacheControl: strings.Join(row.Header["Cache-Control"], ", "),
				Expires:      strings.Join(row.Header["Expires"], ", "),
				Vary:         strings.Join(row.Header["Vary"], ", ")}
			for _, served := range []struct {
				cache cachestatus.Verdict
				word  string
			}{{cachestatus.Hit, "HIT"}, {cachestatus.Stored, "MISS"}} {
				r.Cache, r.CacheWord = served.cache, served.word
				var why []string
				found := false
				ch.Check("test", &r, func(f *Finding) {
					found = found || f.Check == CachedPersonal
					why = append(why, f.Why...)
				})
				want := !row.Storable && served.cache == cachestatus.Hit
				if found != want {
					t.Errorf("%s: cached_personal %v (%q), want %v", served.word, found, why, want)
				}
				if want && !strings.Contains(strings.Join(why, "\n"), row.Why) && !r.SetCookie {
					t.Errorf("%s: why %q does not say %q", served.word, why, row.Why)
				}
			}
		})
	}
}

// A 304 served from storage revalidates the stored response: it is judged
// as that response, not as a status that is not cacheable by default.
func TestCachedRevalidation(t *testing.T) {
	ch := newTestChecker(t, testConfig())
	for _, tc := range []struct {
		cacheControl string
		want         bool
	}{{"", false}, {"public, max-age=60", false}, {"private", true}} {
		r := Record{Line: 1, Host: "www.example.com", Path: "/static/app.css", Status: http.StatusNotModified,
			StorageLogged: true, CacheControl: tc.cacheControl, Cache: cachestatus.Hit, CacheWord: "HIT"}
		found := false
		ch.Check("test", &r, func(f *Finding) { found = found || f.Check == CachedPersonal })
		if found != tc.want {
			t.Errorf("304 HIT with Cache-Control %q: cached_personal %v, want %v", tc.cacheControl, found, tc.want)
		}
	}
}
