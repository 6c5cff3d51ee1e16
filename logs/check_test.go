package logs

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/cachestatus"
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
	// What fence.SharedStorable says of the fence's own headers, and of a
	// qualified private.
	const (
		fenced    = `Cache-Control "private, no-store" says private and no-store`
		qualified = `Cache-Control "private=\"Set-Cookie\", max-age=60" qualifies private or no-cache with field names, which many caches read as unqualified`
	)
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
			"9 cached_personal >" + bobCookie + " private_path," + fenced,
		}},
		{"fastly.ndjson", Options{Format: Fastly}, []string{
			"3 stamp_mismatch alice>" + bobCookie + " ",
			"3 cached_personal >" + bobCookie + " owner_stamp,private_path",
			"5 cached_personal >anonymous set_cookie",
			"8 cached_personal >" + bobCookie + " private_path," + fenced,
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
			// From a cache that stores what the origin forbade: the
			// fence's page, and a page with a qualified private; a bare
			// stale-while-revalidate (line 13) is a cacheable page.
			"12 stamp_mismatch alice>" + bobCookie + " ",
			"12 cached_personal >" + bobCookie + " owner_stamp,private_path," + fenced,
			"14 cached_personal >" + bobCookie + " " + qualified,
		}},
		{"nginx.log", Options{Format: Nginx}, []string{
			"3 stamp_mismatch alice>" + ch.name("authorization\x00Bearer bob\x00cookie\x00session=bob\x00") + " ",
			"3 cached_personal >" + ch.name("authorization\x00Bearer bob\x00cookie\x00session=bob\x00") + " owner_stamp,private_path",
			"5 cached_personal >anonymous owner_stamp,set_cookie",
			"12 stamp_mismatch alice>" + bobCookie + " ",
			"12 cached_personal >" + bobCookie + " owner_stamp,private_path," + fenced,
			"14 cached_personal >" + bobCookie + " " + qualified,
		}}, {
			// Digest mode: the requester is its digest, named when it is an
			// account's or anonymous; a raw line (9) of the same log names
			// carol as her digest line (10) does.
			"nginx_requester.log", Options{Format: Nginx}, []string{
				"3 stamp_mismatch alice>bob ",
				"3 cached_personal >bob owner_stamp,private_path," + fenced,
				"5 cached_personal >anonymous owner_stamp,set_cookie",
				"9 stamp_mismatch alice>" + stampCarol + " ",
				"9 cached_personal >" + stampCarol + " owner_stamp,private_path," + fenced,
				"10 stamp_mismatch alice>" + stampCarol + " ",
				"10 cached_personal >" + stampCarol + " owner_stamp,private_path," + fenced,
			}}, {"varnishncsa_requester.log", Options{Format: Varnishncsa}, []string{
			"3 stamp_mismatch alice>" + stampBobCookie + " ",
			"3 cached_personal >" + stampBobCookie + " owner_stamp,private_path," + fenced,
			"5 cached_personal >anonymous owner_stamp,set_cookie",
		}}, {"fastly_requester.ndjson", Options{Format: Fastly}, []string{
			"2 stamp_mismatch alice>" + stampBobCookie + " ",
			"2 cached_personal >" + stampBobCookie + " owner_stamp,private_path," + fenced,
			"3 cached_personal >anonymous owner_stamp,set_cookie",
		}}, {"cloudflare_requester.ndjson", Options{Format: Cloudflare}, []string{
			"2 stamp_mismatch alice>" + stampBobCookie + " ",
			"2 cached_personal >" + stampBobCookie + " owner_stamp,private_path," + fenced,
			"3 cached_personal >anonymous owner_stamp,set_cookie",
			"5 stamp_mismatch alice>" + stampBobCookie + " ",
			"5 cached_personal >" + stampBobCookie + " owner_stamp,private_path",
			"6 stamp_mismatch alice>" + stampBobCookie + " ",
			"6 cached_personal >" + stampBobCookie + " owner_stamp,private_path," + fenced,
		}}, {"akamai_requester.ndjson", Options{}, []string{
			"2 stamp_mismatch alice>" + stampBobCookie + " ",
			"2 cached_personal >" + stampBobCookie + " owner_stamp,private_path",
		}}, {
			// Line 5 logs bob's cookie, line 4 his digest: one requester, so
			// the collapse needs carol's hit (line 6) as its second.
			"cloudfront_realtime_requester.tsv", Options{Format: CloudFrontRealtime, Fields: realtimeFields}, []string{
				"4 cached_personal >" + stampBobCookie + " private_path",
				"5 cached_personal >" + stampBobCookie + " private_path",
				"6 cached_personal >" + stampCarol + " private_path",
				"6 collapse_suspected >" + stampCarol + " 2 identities got hits within 5s of one miss by another (this one 750ms after it)",
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

// record is a CloudFront-like record (no stamp logged) for the checks'
// own tests.
func record(line int64, at time.Time, path string, cache cachestatus.Verdict, cookie string) Record {
	return Record{Line: line, Time: at, Host: "www.example.com", Path: path, Cache: cache, Cookie: cookie}
}

// collapse_suspected: two identities other than the miss's within the
// window on a private path; not on a public path, not after the window,
// not for the missing identity's own hits.
func TestCollapse(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hit, miss := cachestatus.Hit, cachestatus.Stored
	for _, tc := range []struct {
		name string
		recs []Record
		want []int64 // lines flagged collapse_suspected
	}{
		{"burst after a miss", []Record{
			record(1, t0, "/account", miss, "session=a"),
			record(2, t0.Add(time.Second), "/account", hit, "session=b"),
			record(3, t0.Add(2*time.Second), "/account", hit, "session=c"),
			record(4, t0.Add(3*time.Second), "/account", hit, ""),
		}, []int64{3, 4}},
		{"the same requester again does not count twice", []Record{
			record(1, t0, "/account", miss, "session=a"),
			record(2, t0.Add(time.Second), "/account", hit, "session=b"),
			record(3, t0.Add(time.Second), "/account", hit, "session=b"),
			record(4, t0.Add(time.Second), "/account", hit, "session=a"),
		}, nil},
		{"outside the window", []Record{
			record(1, t0, "/account", miss, "session=a"),
			record(2, t0.Add(time.Second), "/account", hit, "session=b"),
			record(3, t0.Add(6*time.Second), "/account", hit, "session=c"),
		}, nil},
		{"a public path", []Record{
			record(1, t0, "/news", miss, "session=a"),
			record(2, t0.Add(time.Second), "/news", hit, "session=b"),
			record(3, t0.Add(time.Second), "/news", hit, "session=c"),
		}, nil},
		{"a new miss starts again", []Record{
			record(1, t0, "/account", miss, "session=a"),
			record(2, t0.Add(time.Second), "/account", hit, "session=b"),
			record(3, t0.Add(2*time.Second), "/account", miss, "session=c"),
			record(4, t0.Add(3*time.Second), "/account", hit, "session=d"),
		}, nil},
		{"hits with no miss seen", []Record{
			record(1, t0, "/account", hit, "session=b"),
			record(2, t0, "/account", hit, "session=c"),
			record(3, t0, "/account", hit, "session=d"),
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newTestChecker(t, Config{Rules: fence.Config{PrivatePaths: []string{"/account"}}})
			var got []int64
			for i := range tc.recs {
				ch.Check("t", &tc.recs[i], func(f *Finding) {
					if f.Check == CollapseSuspected {
						got = append(got, f.Line)
					}
				})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("flagged lines %v, want %v", got, tc.want)
			}
		})
	}
}

// The checker's state stays bounded whatever the traffic.
func TestCheckerBounds(t *testing.T) {
	ch := newTestChecker(t, Config{Key: testKey, CollapseEntries: 100,
		Rules: fence.Config{PrivatePaths: []string{"/account/*"}}})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20000 {
		r := record(int64(i), t0, fmt.Sprintf("/account/%d", i), cachestatus.Stored, fmt.Sprintf("session=u%d", i))
		ch.Check("t", &r, func(*Finding) {})
		s := Record{Path: fmt.Sprintf("/p/%d", i), Cache: cachestatus.Hit, Stamped: true, Stamp: "v1.x", Cookie: fmt.Sprintf("session=u%d", i)}
		ch.Check("t", &s, func(*Finding) {})
	}
	if len(ch.collapse) > 100 || len(ch.private) > maxRemembered || len(ch.stamps) > maxRemembered {
		t.Errorf("state grew: %d misses, %d paths, %d stamps", len(ch.collapse), len(ch.private), len(ch.stamps))
	}
	// Once the window has passed, old misses make room for new ones.
	r := record(1, t0.Add(time.Minute), "/account/new", cachestatus.Stored, "session=n")
	ch.Check("t", &r, func(*Finding) {})
	if _, ok := ch.collapse["www.example.com\x00/account/new"]; !ok {
		t.Error("a new miss was not tracked after the window")
	}
}

// Without a key, stamps go unchecked and identities show as digests that
// are stable within the run and say nothing outside it.
func TestCheckerNames(t *testing.T) {
	ch := newTestChecker(t, Config{Accounts: []Account{{Name: "alice", Header: http.Header{"Cookie": {"session=alice"}}}}})
	if ch.Stamps() {
		t.Error("a checker without a key checks stamps")
	}
	bob := ch.name("cookie\x00session=bob\x00")
	if !strings.HasPrefix(bob, "id:") || bob != ch.name("cookie\x00session=bob\x00") || strings.Contains(bob, "bob") {
		t.Errorf("bob shows as %q", bob)
	}
	if ch.name("") != "anonymous" || ch.name("cookie\x00session=alice\x00") != "alice" {
		t.Error("anonymous or an account misnamed")
	}
	r := Record{Path: "/x", Cache: cachestatus.Stored, Stamped: true, Stamp: "v1.whatever", Cookie: "session=bob"}
	ch.Check("t", &r, func(f *Finding) { t.Errorf("a finding without a key: %s", f) })
	for _, c := range []Config{
		{Key: []byte("short")},
		{Accounts: []Account{{Name: "", Header: http.Header{"Cookie": {"a=b"}}}}},
		{Accounts: []Account{{Name: "x", Header: http.Header{}}}},
		{Rules: fence.Config{IgnoreCookies: []string{"["}}},
	} {
		if _, err := NewChecker(c); err == nil {
			t.Errorf("NewChecker(%+v) accepted", c)
		}
	}
}

// An owner stamp the fence did not make is shown as such, not echoed.
func TestOwnerOfAMalformedStamp(t *testing.T) {
	ch := newTestChecker(t, testConfig())
	for stamp, want := range map[string]string{
		stampAlice:                    "alice",
		stampAnon:                     "anonymous",
		"v1.8mTHvq1bUjK-UoGWDwMEPA":   "v1.8mTHvq1bUjK-UoGWDwMEPA",
		"session=alice; token=s3cr3t": "a malformed stamp",
		"v1.short":                    "a malformed stamp",
		"v1.8mTHvq1bUjK-UoGWDwME+A":   "a malformed stamp",
	} {
		if got := ch.owner(stamp); got != want {
			t.Errorf("owner(%q) = %q, want %q", stamp, got, want)
		}
	}
}

// Session ids in the path (servlet path parameters, escaped or not, and
// ASP.NET cookieless segments) never reach a finding, and one page leaking
// to several sessions is one finding key, not one per session.
func TestFindingPathsRedacted(t *testing.T) {
	ch := newTestChecker(t, testConfig())
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ paths []string }{
		{[]string{"/account;jsessionid=SECRET1", "/account;jsessionid=SECRET2", "/account%3Bjsessionid=SECRET3"}},
		{[]string{"/(S(SECRET4))/account", "/(S(SECRET5))/account"}},
	} {
		keys := map[string]bool{}
		for i, p := range tc.paths {
			r := record(int64(i+1), at, p, cachestatus.Hit, "")
			ch.Check("t", &r, func(f *Finding) {
				keys[f.Key()] = true
				if out := f.String(); strings.Contains(out, "SECRET") {
					t.Errorf("finding shows a session id: %s", out)
				}
			})
		}
		if len(keys) != 1 {
			t.Errorf("%q: finding keys %q, want one", tc.paths, slices.Sorted(maps.Keys(keys)))
		}
	}
}

// A record's requester digest is its requester: stamps are compared with
// it (with or without the key), it is never read past for the raw
// credentials the record may also hold, and, with the key, the accounts'
// and the anonymous digests show by name.
func TestRequesterDigest(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rec := func(requester, stamp, cookie string) Record {
		return Record{Line: 1, Time: at, Host: "www.example.com", Path: "/account", Cache: cachestatus.Hit,
			Stamped: true, Stamp: stamp, Requester: requester, Cookie: cookie}
	}
	keyless := testConfig()
	keyless.Key = nil
	for _, tc := range []struct {
		name string
		cfg  Config
		r    Record
		want []string
	}{
		{"the owner's digest", testConfig(), rec(stampAlice, stampAlice, ""),
			[]string{"1 cached_personal >alice owner_stamp,private_path"}},
		{"another's digest", testConfig(), rec(stampBobCookie, stampAlice, ""), []string{
			"1 stamp_mismatch alice>" + stampBobCookie + " ",
			"1 cached_personal >" + stampBobCookie + " owner_stamp,private_path"}},
		{"an account's digest shows by name", testConfig(), rec(stampBob, stampAlice, ""), []string{
			"1 stamp_mismatch alice>bob ", "1 cached_personal >bob owner_stamp,private_path"}},
		{"the anonymous digest", testConfig(), rec(stampAnon, stampAlice, ""), []string{
			"1 stamp_mismatch alice>anonymous ", "1 cached_personal >anonymous owner_stamp,private_path"}},
		{"the digest wins over a cookie that matches the stamp", testConfig(), rec(stampBobCookie, stampAlice, "session=alice"), []string{
			"1 stamp_mismatch alice>" + stampBobCookie + " ",
			"1 cached_personal >" + stampBobCookie + " owner_stamp,private_path"}},
		{"the digest wins over a cookie that does not", testConfig(), rec(stampAlice, stampAlice, "session=bob"),
			[]string{"1 cached_personal >alice owner_stamp,private_path"}},
		{"raw credentials without a digest", testConfig(), rec("", stampAlice, "session=bob"), []string{
			"1 stamp_mismatch alice>" + stampBobCookie + " ",
			"1 cached_personal >" + stampBobCookie + " owner_stamp,private_path"}},
		{"a malformed stamp against a digest", testConfig(), rec(stampAlice, "garbage", ""), []string{
			"1 stamp_mismatch a malformed stamp>alice ", "1 cached_personal >alice owner_stamp,private_path"}},
		// Without the key, a digest still tells a stamp made for another;
		// no one is named, and raw credentials tell nothing of stamps.
		{"keyless: another's digest", keyless, rec(stampBob, stampAlice, ""), []string{
			"1 stamp_mismatch " + stampAlice + ">" + stampBob + " ",
			"1 cached_personal >" + stampBob + " owner_stamp,private_path"}},
		{"keyless: the owner's digest", keyless, rec(stampAlice, stampAlice, ""),
			[]string{"1 cached_personal >" + stampAlice + " owner_stamp,private_path"}},
		{"keyless: raw credentials", keyless, rec("", stampAlice, "session=alice"),
			[]string{"1 cached_personal >alice owner_stamp,private_path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newTestChecker(t, tc.cfg)
			if got := findings(ch, []Record{tc.r}); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// Records with digests cost no HMAC and no identity: the checker's
// memories of identities and their stamps stay empty, whatever they hold
// besides (raw credentials included) and whichever checks they reach.
func TestRequesterDigestNoHMAC(t *testing.T) {
	ch := newTestChecker(t, testConfig())
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	digests := []string{stampAlice, stampBobCookie, stampCarol, stampAnon, stampBob}
	for i := range 1000 {
		d := digests[i%len(digests)]
		for _, r := range []Record{
			{Time: t0, Path: "/account", Cache: cachestatus.Stored, Requester: d, Cookie: "session=x"},
			{Time: t0, Path: "/account", Cache: cachestatus.Hit, Requester: d, Authorization: "Bearer y"},
			{Time: t0, Path: "/p", Cache: cachestatus.Hit, Stamped: true, Stamp: stampAlice, Requester: d, Cookie: "session=z"},
		} {
			ch.Check("t", &r, func(*Finding) {})
		}
	}
	if len(ch.stamps) != 0 || len(ch.identities) != 0 {
		t.Errorf("digest records made %d stamps and %d identities", len(ch.stamps), len(ch.identities))
	}
}

// A mixed log's findings, as text and as JSON, hold no credential of its
// raw records, and an account's digest prints as the account's name.
func TestRequesterFindingsHoldNoCredential(t *testing.T) {
	ch := newTestChecker(t, testConfig())
	var out []byte
	for _, fx := range []struct {
		file string
		opts Options
	}{
		{"nginx_requester.log", Options{Format: Nginx}},
		{"cloudflare_requester.ndjson", Options{Format: Cloudflare}},
		{"cloudfront_realtime_requester.tsv", Options{Format: CloudFrontRealtime, Fields: realtimeFields}},
	} {
		recs, _ := readFixture(t, fx.file, fx.opts)
		for i := range recs {
			ch.Check(fx.file, &recs[i], func(f *Finding) {
				out = f.AppendText(out)
				out, _ = f.AppendJSON(out)
			})
		}
	}
	for _, secret := range []string{"session=", "carol\x00", "Bearer", stampBob} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the findings show %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "to bob") {
		t.Errorf("bob's digest is not shown by his name:\n%s", out)
	}
}

// A guard's verdict is reported as guard_stopped_leak: a refusal is its
// own 503 and nothing else is judged of it (the stored page's stamp and
// headers, which the log may still show, reached no one); a page passed
// past the cache is still held to being the requester's own, with no
// owner named (the stamp logged is the new page's) and not as a hit; a
// refusal on another status is not believed.
func TestGuardVerdicts(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rec := func(status int, guard, requester, stamp string) Record {
		return Record{Line: 1, Time: at, Host: "www.example.com", Path: "/account", Status: status, Cache: cachestatus.Hit,
			CacheWord: "HIT", Stamped: true, Stamp: stamp, Requester: requester, Guard: guard, StorageLogged: true,
			CacheControl: "private, no-store"}
	}
	for _, tc := range []struct {
		name string
		r    Record
		want []string
	}{
		{"refused, the stored page's stamp logged", rec(503, fence.GuardRefused, stampBob, stampAlice),
			[]string{"1 guard_stopped_leak alice>bob refused"}},
		{"refused, no stamp logged", rec(503, fence.GuardRefused, stampBob, ""),
			[]string{"1 guard_stopped_leak >bob refused"}},
		{"passed, now the requester's own", rec(200, fence.GuardPassed, stampBob, stampBob), []string{
			"1 guard_stopped_leak >bob passed"}},
		{"passed, yet someone else's", rec(200, fence.GuardPassed, stampBob, stampAlice), []string{
			"1 guard_stopped_leak >bob passed",
			"1 stamp_mismatch alice>bob "}},
		{"refused on a 200 is not believed", rec(200, fence.GuardRefused, stampBob, stampAlice), []string{
			"1 stamp_mismatch alice>bob ",
			"1 cached_personal >bob owner_stamp,private_path,Cache-Control \"private, no-store\" says private and no-store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newTestChecker(t, testConfig())
			if got := findings(ch, []Record{tc.r}); !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
