package logs

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/fence"
)

// testKey made the fixtures' stamps.
var testKey = []byte("logs-test-key-0123456789abcdef")

// testConfig is the fence of the fixtures: analytics cookies ignored,
// /account private, and two named test accounts.
func testConfig() Config {
	return Config{
		Key:   testKey,
		Rules: fence.Config{IgnoreCookies: []string{"_ga*"}, PrivatePaths: []string{"/account*", "/orders/*"}},
		Accounts: []Account{
			{Name: "alice", Header: http.Header{"Cookie": {"session=alice"}}},
			{Name: "bob", Header: http.Header{"Authorization": {"Bearer bob"}}},
		},
	}
}

func newTestChecker(t *testing.T, c Config) *Checker {
	t.Helper()
	ch, err := NewChecker(c)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// findings runs every record through ch and returns one line per finding:
// "line check owner>requester why".
func findings(ch *Checker, recs []Record) []string {
	var got []string
	for i := range recs {
		ch.Check("test", &recs[i], func(f *Finding) {
			got = append(got, fmt.Sprintf("%d %s %s>%s %s", f.Line, f.Check, f.Owner, f.Requester, strings.Join(f.Why, ",")))
		})
	}
	return got
}

// The checks over every fixture: exactly the records where one user's
// page reached another are stamp_mismatch, the personal responses served
// from storage cached_personal, and CloudFront's burst of hits after a
// miss collapse_suspected.
func TestChecksOnFixtures(t *testing.T) {
	ch := newTestChecker(t, testConfig())
	carol := ch.name("cookie\x00session=carol\x00")
	bobCookie := ch.name("cookie\x00session=bob\x00")
	for _, tc := range []struct {
		file string
		opts Options
		want []string
	}{
		{"cloudfront_standard.log", Options{}, []string{
			"11 cached_personal >" + bobCookie + " private_path",
			"12 cached_personal >" + carol + " private_path",
			"12 collapse_suspected >" + carol + " 2 identities got hits within 5s of one miss by another (this one 2s after it)",
		}},
		{"cloudfront_realtime.tsv", Options{Format: CloudFrontRealtime, Fields: realtimeFields}, []string{
			"5 cached_personal >" + bobCookie + " private_path",
			"6 cached_personal >" + ch.name("authorization\x00Bearer carol-token\x00") + " private_path",
			"6 collapse_suspected >" + ch.name("authorization\x00Bearer carol-token\x00") + " 2 identities got hits within 5s of one miss by another (this one 500ms after it)",
		}},
		{"cloudflare.ndjson", Options{Format: Cloudflare}, []string{
			"4 stamp_mismatch alice>" + bobCookie + " ",
			"4 cached_personal >" + bobCookie + " owner_stamp,private_path",
			"5 stamp_mismatch alice>anonymous ",
			"5 cached_personal >anonymous owner_stamp,private_path",
			"6 cached_personal >alice owner_stamp,private_path",
			"7 cached_personal >anonymous set_cookie",
		}},
		{"fastly.ndjson", Options{Format: Fastly}, []string{
			"3 stamp_mismatch alice>" + bobCookie + " ",
			"3 cached_personal >" + bobCookie + " owner_stamp,private_path",
			"5 cached_personal >anonymous set_cookie",
		}},
		{"akamai.ndjson", Options{}, []string{
			"3 stamp_mismatch alice>" + bobCookie + " ",
			"3 cached_personal >" + bobCookie + " owner_stamp,private_path",
		}},
		{"gcp.ndjson", Options{}, []string{
			"3 cached_personal >anonymous private_path",
		}},
		{"varnishncsa.log", Options{Format: Varnishncsa}, []string{
			"3 stamp_mismatch alice>" + bobCookie + " ",
			"3 cached_personal >" + bobCookie + " owner_stamp,private_path",
			"6 stamp_mismatch anonymous>" + ch.name("cookie\x00s=\xc3( \"x\x00") + " ",
			"6 cached_personal >" + ch.name("cookie\x00s=\xc3( \"x\x00") + " owner_stamp,set_cookie",
		}},
		{"nginx.log", Options{Format: Nginx}, []string{
			"3 stamp_mismatch alice>" + ch.name("authorization\x00Bearer bob\x00cookie\x00session=bob\x00") + " ",
			"3 cached_personal >" + ch.name("authorization\x00Bearer bob\x00cookie\x00session=bob\x00") + " owner_stamp,private_path",
			"5 cached_personal >anonymous owner_stamp,set_cookie",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			recs, _ := readFixture(t, tc.file, tc.opts)
			// A fresh checker per file: collapse state is per stream.
			got := findings(newTestChecker(t, testConfig()), recs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
