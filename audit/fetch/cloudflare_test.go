package fetch

import (
	"cmp"
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/cachefence/cachefence/audit/fetch/fetchtest"
)

const (
	cfZone   = "023e105f4ecef8ad9ca31a8372d0c353"
	cfToken  = "fence-cf-token-do-not-print-0001"
	entry    = "/zones/" + cfZone + "/rulesets/phases/http_request_cache_settings/entrypoint"
	pageList = "/zones/" + cfZone + "/pagerules"
)

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A zone fetched through the fake API audits as its exported cache rules
// and Page Rules do; the API's errors are errors that name the token's
// variable, never the token; a 429 waits its Retry-After.
func TestCloudflare(t *testing.T) {
	ruleset := readFixture(t, "../cloudflare/testdata/ruleset.json")
	pagerules := readFixture(t, "../cloudflare/testdata/pagerules.json")
	for _, tc := range []struct {
		name    string
		token   string // the token sent; cfToken unless set
		ruleset []byte
		perPage int
		fail    func(path string, n int) *fetchtest.Failure
		files   []string // the files fetched, from the fixtures
		err     []string // what the error says
		waits   []time.Duration
	}{
		{name: "cache rules and Page Rules", ruleset: ruleset,
			files: []string{"../cloudflare/testdata/ruleset.json", "../cloudflare/testdata/pagerules.json"}},
		{name: "Page Rules a page at a time", ruleset: ruleset, perPage: 1,
			files: []string{"../cloudflare/testdata/ruleset.json", "../cloudflare/testdata/pagerules.json"}},
		{name: "a zone without cache rules", ruleset: nil,
			files: []string{"../cloudflare/testdata/pagerules.json"}},
		{name: "an expired token", token: "fence-cf-expired-token-do-not-print", ruleset: ruleset,
			err: []string{"GET " + entry + ": 403 Forbidden; 9109 Invalid access token", "check the API token in $CLOUDFLARE_API_TOKEN"}},
		{name: "throttled, then answered", ruleset: ruleset,
			fail: func(path string, n int) *fetchtest.Failure {
				if path == pageList && n <= 2 {
					return &fetchtest.Failure{Status: http.StatusTooManyRequests, Code: 971, Message: "Please wait and consider throttling your request speed", RetryAfter: "7"}
				}
				return nil
			},
			waits: []time.Duration{7 * time.Second, 7 * time.Second},
			files: []string{"../cloudflare/testdata/ruleset.json", "../cloudflare/testdata/pagerules.json"}},
		{name: "throttled for longer than a run waits", ruleset: ruleset,
			fail: func(path string, n int) *fetchtest.Failure {
				return &fetchtest.Failure{Status: http.StatusTooManyRequests, Code: 971, Message: "Please wait and consider throttling your request speed", RetryAfter: "300"}
			},
			err: []string{"429 Too Many Requests; 971 Please wait", "throttled: Retry-After 5m0s"}},
		{name: "throttled again and again", ruleset: ruleset,
			fail: func(path string, n int) *fetchtest.Failure {
				return &fetchtest.Failure{Status: http.StatusTooManyRequests, Code: 971, Message: "Please wait", RetryAfter: "1"}
			},
			waits: []time.Duration{time.Second, time.Second},
			err:   []string{"429 Too Many Requests"}},
		{name: "an error that quotes the token", ruleset: ruleset,
			fail: func(path string, n int) *fetchtest.Failure {
				return &fetchtest.Failure{Status: http.StatusBadRequest, Code: 6003, Message: "Invalid request headers: Bearer " + cfToken}
			},
			err: []string{"400 Bad Request; 6003 Invalid request headers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := fetchtest.NewCloudflare(t, cfToken)
			api.SetRuleset(t, tc.ruleset)
			api.SetPageRules(t, pagerules, tc.perPage)
			api.SetFail(tc.fail)
			t.Setenv("CLOUDFLARE_API_TOKEN", cmp.Or(tc.token, cfToken))
			src, err := Parse(context.Background(), "cloudflare:"+cfZone,
				Options{CloudflareAPI: api.URL, CloudflareTokenEnv: "CLOUDFLARE_API_TOKEN"})
			if err != nil {
				t.Fatal(err)
			}
			var waits []time.Duration
			src.(*Cloudflare).sleep = func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}
			files, err := src.Fetch(context.Background())
			noSecret(t, texts(files, err), cfToken, cmp.Or(tc.token, cfToken))
			if len(waits) != len(tc.waits) || len(waits) > 0 && waits[0] != tc.waits[0] {
				t.Errorf("waited %v, want %v", waits, tc.waits)
			}
			if failed(t, files, err, tc.err) {
				return
			}
			if tc.perPage > 0 {
				if n := api.Hits(pageList); n != 2 {
					t.Errorf("%d requests for Page Rules, want one per page: 2", n)
				}
			}
			if len(files) != len(tc.files) {
				t.Fatalf("%d files, want %d", len(files), len(tc.files))
			}
			sameAsFiles(t, files, tc.files...)
		})
	}
}
