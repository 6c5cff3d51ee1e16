package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const validConfig = `{
  "base_url": "https://www.example.com",
  "identities": [
    {"name": "alice", "cookies": {"session": "${PROBE_TEST_ALICE}"}, "markers": ["alice@example.com"]},
    {"name": "bob", "headers": {"Authorization": "Bearer ${PROBE_TEST_BOB}"}, "markers": ["bob@example.com"]}
  ],
  "personal_urls": ["/account"]
}`

func TestLoadConfigExpandsSecrets(t *testing.T) {
	t.Setenv("PROBE_TEST_ALICE", "alice-cookie-value")
	t.Setenv("PROBE_TEST_BOB", "bob-token")
	cfg, err := LoadConfig(writeConfig(t, validConfig))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Identities[0].Cookies["session"]; got != "alice-cookie-value" {
		t.Errorf("cookie = %q", got)
	}
	if got := cfg.Identities[1].Headers["Authorization"]; got != "Bearer bob-token" {
		t.Errorf("header = %q", got)
	}
	if cfg.Concurrency != 4 || cfg.CollapseRounds != 3 || cfg.Timeout == 0 {
		t.Errorf("defaults not filled: %+v", cfg)
	}
}

// The examples in examples/ must load once their variables are set.
func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("PROBE_ALICE_SESSION", "a")
	t.Setenv("PROBE_BOB_TOKEN", "b")
	t.Setenv("PROBE_WAF_TOKEN", "w")
	t.Setenv("CACHE_FENCE_KEY", "0123456789abcdef0123")
	for _, file := range []string{"probe.json", "probe-staging.json"} {
		if _, err := LoadConfig("../examples/" + file); err != nil {
			t.Error(err)
		}
	}
}

// testSecret marks every secret value in the tests below: no error may
// show it.
const testSecret = "s3cr3t"

func TestLoadConfigErrors(t *testing.T) {
	t.Setenv("PROBE_TEST_ALICE", "alice-cookie-value")
	t.Setenv("PROBE_TEST_BOB", "bob-token")
	t.Setenv("PROBE_TEST_SEMICOLON", "half-"+testSecret+";other=half")
	t.Setenv("PROBE_TEST_NEWLINE", "token-"+testSecret+"\n")
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"missing variable", "${PROBE_TEST_BOB}", "${PROBE_TEST_UNSET}", "PROBE_TEST_UNSET"},
		{"relative base", `"https://www.example.com"`, `"/relative"`, `base_url "/relative"`},
		{"base with a password", `"https://www.example.com"`, `"https://deploy:` + testSecret + `@www.example.com"`,
			`base_url "https://…@www.example.com": remove the user name and password; give credentials to identities instead, as cookies or headers read from the environment with ${NAME}`},
		{"base with a user name", `"https://www.example.com"`, `"https://` + testSecret + `@www.example.com"`, `base_url "https://…@www.example.com": remove the user name`},
		{"base with a password that breaks the URL", `"https://www.example.com"`, `"https://deploy:a/` + testSecret + `@www.example.com"`,
			`base_url "https://…@www.example.com": want an absolute http or https URL`},
		{"base with a password and no scheme", `"https://www.example.com"`, `"deploy:` + testSecret + `@www.example.com//x"`,
			`base_url "…@www.example.com//x": want an absolute http or https URL`},
		{"origin with a password", `"personal_urls"`, `"origin_url": "http://deploy:` + testSecret + `@10.0.0.5:8080", "personal_urls"`,
			`origin_url "http://…@10.0.0.5:8080": remove the user name and password`},
		{"personal url with a password", `["/account"]`, `["https://deploy:` + testSecret + `@www.example.com/account"]`,
			`url "https://…@www.example.com/account": remove the user name and password`},
		{"scheme-relative personal url with a password", `["/account"]`, `["//deploy:` + testSecret + `@www.example.com/account"]`,
			`url "…@www.example.com/account": remove the user name and password`},
		{"personal url with a password that breaks the URL", `["/account"]`, `["https://deploy:%zz` + testSecret + `@www.example.com/account"]`,
			`url "https://…@www.example.com/account": not a valid URL`},
		{"one identity", `,
    {"name": "bob"`, `], "x": [{"name": "bob"`, `unknown field "x"`},
		{"foreign personal url", `["/account"]`, `["https://elsewhere.example/account"]`, "only checks the base URL's host"},
		{"short marker", `"bob@example.com"`, `"bob"`, `marker "bob" is too short`},
		{"duplicate name", `"name": "bob"`, `"name": "alice"`, `name "alice" is used twice`},
		{"no personal urls", `["/account"]`, `[]`, "personal_urls"},
		{"not json", `{`, `[`, "probe config"},

		{"cookie name not a token", `"session"`, `"my session"`, `identity "alice": cookie name "my session" is not a valid token`},
		{"empty cookie name", `"session"`, `""`, `identity "alice": cookie name "" is not a valid token`},
		{"header name not a token", `"Authorization"`, `"Authorization:"`, `identity "bob": header name "Authorization:" is not a valid token`},
		{"cookie value with a semicolon", "${PROBE_TEST_ALICE}", "${PROBE_TEST_SEMICOLON}",
			`identity "alice": cookie "session": the value has ';', which a cookie value cannot hold`},
		{"cookie value with a line break", "${PROBE_TEST_ALICE}", "${PROBE_TEST_NEWLINE}",
			`identity "alice": cookie "session": the value has a line break`},
		{"cookie value with a space", "${PROBE_TEST_ALICE}", "two " + testSecret, `cookie "session": the value has a space`},
		{"cookie value with a comma", "${PROBE_TEST_ALICE}", "a," + testSecret, `cookie "session": the value has ','`},
		{"cookie value with a quote", "${PROBE_TEST_ALICE}", `\"` + testSecret + `\"`, `cookie "session": the value has '"'`},
		{"cookie value with a backslash", "${PROBE_TEST_ALICE}", `a\\` + testSecret, `cookie "session": the value has '\\'`},
		{"cookie value not ASCII", "${PROBE_TEST_ALICE}", "café-" + testSecret, `cookie "session": the value has a non-ASCII character`},
		{"header value with a line break", "Bearer ${PROBE_TEST_BOB}", "Bearer ${PROBE_TEST_NEWLINE}",
			`identity "bob": header "Authorization": the value has a line break, which a header value cannot hold`},
		{"bad stamp header", `"personal_urls"`, `"owner_stamp": {"key": "0123456789abcdef", "header": "Cache Fence"}, "personal_urls"`,
			`owner_stamp: header "Cache Fence": not a valid header field name`},

		{"duration in words", `"personal_urls"`, `"timeout": "ten seconds", "personal_urls"`,
			`timeout: invalid duration "ten seconds" (want a duration such as "10s")`},
		{"duration as a number", `"personal_urls"`, `"timeout": 10, "personal_urls"`,
			`timeout: invalid duration 10 (want a duration such as "10s")`},

		{"unknown check", `"personal_urls"`, `"checks": ["personal", "headers"], "personal_urls"`,
			`checks: unknown check "headers" (want personal, collapse, path_confusion, public)`},
		{"check twice", `"personal_urls"`, `"checks": ["public", "public"], "personal_urls"`, `checks: "public" is listed twice`},
		{"no checks", `"personal_urls"`, `"checks": [], "personal_urls"`, "checks: empty; omit it to run all"},
		{"the old switch", `"personal_urls"`, `"path_confusion": false, "personal_urls"`, `unknown field "path_confusion"`},
		{"negative collapse rounds", `"personal_urls"`, `"collapse_rounds": -1, "personal_urls"`,
			"collapse_rounds -1: want 1 to 20 (leave collapse out of checks to turn it off)"},
		{"origin with a path", `"personal_urls"`, `"origin_url": "http://10.0.0.5:8080/app", "personal_urls"`,
			`origin_url "http://10.0.0.5:8080/app": want a scheme and host only`},
		{"origin not absolute", `"personal_urls"`, `"origin_url": "10.0.0.5:8080", "personal_urls"`, `origin_url "10.0.0.5:8080"`},
		{"connect_to with a path", `"personal_urls"`, `"connect_to": "203.0.113.7/x", "personal_urls"`, `connect_to "203.0.113.7/x": want an address`},
		{"request header carrying a cookie", `"personal_urls"`, `"request_headers": {"Cookie": "x=` + testSecret + `"}, "personal_urls"`,
			`request_headers "Cookie": credentials belong to identities`},
		{"request header setting the host", `"personal_urls"`, `"request_headers": {"host": "staging"}, "personal_urls"`,
			`request_headers "host": use connect_to`},
		{"request header the fence counts as a credential", `"personal_urls"`, `"request_headers": {"X-Api-Key": "` + testSecret + `"}, "personal_urls"`,
			`request_headers "X-Api-Key": the fence counts it as a credential`},
		{"request header the fence counts as a credential, spelt with _", `"personal_urls"`, `"request_headers": {"x_api_key": "` + testSecret + `"}, "personal_urls"`,
			`request_headers "x_api_key": the fence counts it as a credential`},
		{"request header the fence lists with _, spelt with -", `"personal_urls"`, `"request_headers": {"Sm-User": "` + testSecret + `"}, "personal_urls"`,
			`request_headers "Sm-User": the fence counts it as a credential`},
		{"request header with a line break", `"personal_urls"`, `"request_headers": {"X-Waf": "${PROBE_TEST_NEWLINE}"}, "personal_urls"`,
			`request_headers: header "X-Waf": the value has a line break`},
		{"request header left unexpanded", `"personal_urls"`, `"request_headers": {"X-Waf": "$WAF_TOKEN"}, "personal_urls"`,
			`request_headers "X-Waf": $WAF_TOKEN is not expanded; write ${WAF_TOKEN}`},
		{"cache status header without words", `"personal_urls"`, `"cache_status_headers": {"X-Micro-Cache": {}}, "personal_urls"`,
			`cache_status_headers "X-Micro-Cache": want at least one of hit, miss, pass`},
		{"anonymous is reserved", `"name": "bob"`, `"name": "anonymous"`, `name "anonymous" is used twice, or is reserved`},

		{"a second object", "]\n}", "]\n} {}", "unexpected data after the JSON object"},
		{"a stray brace", "]\n}", "]\n}}", "unexpected data after the JSON object"},

		{"bare variable", "${PROBE_TEST_ALICE}", "$PROBE_TEST_ALICE",
			`identity "alice": cookie "session": $PROBE_TEST_ALICE is not expanded; write ${PROBE_TEST_ALICE} to read the environment variable`},
		{"bare variable after a scheme", "${PROBE_TEST_BOB}", "$PROBE_TEST_BOB",
			`identity "bob": header "Authorization": $PROBE_TEST_BOB is not expanded; write ${PROBE_TEST_BOB}`},
		{"bare variable as a marker", `"bob@example.com"`, `"$BOB_EMAIL"`,
			`identity "bob": markers[0]: $BOB_EMAIL is not expanded; write ${BOB_EMAIL}`},
		{"caddy placeholder as the stamp key", `"personal_urls"`, `"owner_stamp": {"key": "{env.CACHE_FENCE_KEY}"}, "personal_urls"`,
			`owner_stamp.key: {env.CACHE_FENCE_KEY} is not expanded; write ${CACHE_FENCE_KEY} to read the environment variable`},
		{"caddy placeholder in a header", "${PROBE_TEST_BOB}", "{env.PROBE_TEST_BOB}",
			`identity "bob": header "Authorization": {env.PROBE_TEST_BOB} is not expanded; write ${PROBE_TEST_BOB}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(validConfig, tc.from, tc.to, 1)
			if body == validConfig {
				t.Fatalf("%q is not in the config", tc.from)
			}
			_, err := LoadConfig(writeConfig(t, body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			for _, secret := range []string{"alice-cookie-value", "bob-token", testSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

// Values that only look odd are secrets like any other.
func TestLoadConfigAccepts(t *testing.T) {
	t.Setenv("PROBE_TEST_ALICE", "alice-cookie-value")
	t.Setenv("PROBE_TEST_BOB", "bob-token")
	for _, tc := range []struct{ name, from, to string }{
		{"base64 cookie", "${PROBE_TEST_ALICE}", "YWxp+Y2U/=="},
		{"dollars inside a value", "${PROBE_TEST_ALICE}", "pa$$word$2"},
		{"bcrypt-like token", "Bearer ${PROBE_TEST_BOB}", "Bearer $2a$10$abc"},
		{"header value with a tab and non-ASCII", "Bearer ${PROBE_TEST_BOB}", `Bearer\tcafé`},
		{"duration", `"personal_urls"`, `"timeout": "1m30s", "personal_urls"`},
		{"duration in days, as Caddy writes it", `"personal_urls"`, `"timeout": "1d", "personal_urls"`},
		{"every field", `"personal_urls"`, `"origin_url": "http://10.0.0.5:8080", "connect_to": "203.0.113.7:8443",
			"checks": ["personal", "public"], "collapse_rounds": 5,
			"request_headers": {"X-Waf-Bypass": "${PROBE_TEST_ALICE}"},
			"cache_status_headers": {"X-Micro-Cache": {"hit": ["HIT"], "miss": ["MISS"], "pass": ["BYPASS"]}},
			"personal_urls"`},
		{"owner stamp", `"personal_urls"`, `"owner_stamp": {"key": "${PROBE_TEST_ALICE}", "header": "X-Owner"}, "personal_urls"`},
		{"trailing white space", "]\n}", "]\n}\n\n"},
		{"an @ in paths, not a user name", `"https://www.example.com"`, `"https://www.example.com/@shop"`},
		{"an @ in a personal url's path", `["/account"]`, `["/account", "/@alice/orders?by=@me"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadConfig(writeConfig(t, strings.Replace(validConfig, tc.from, tc.to, 1))); err != nil {
				t.Fatal(err)
			}
		})
	}
}
