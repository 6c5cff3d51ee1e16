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

// The example in examples/ must load once its variables are set.
func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("PROBE_ALICE_SESSION", "a")
	t.Setenv("PROBE_BOB_TOKEN", "b")
	t.Setenv("CACHE_FENCE_KEY", "0123456789abcdef0123")
	if _, err := LoadConfig("../examples/probe.json"); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Setenv("PROBE_TEST_ALICE", "alice-cookie-value")
	t.Setenv("PROBE_TEST_BOB", "bob-token")
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"missing variable", "${PROBE_TEST_BOB}", "${PROBE_TEST_UNSET}", "PROBE_TEST_UNSET"},
		{"relative base", `"https://www.example.com"`, `"/relative"`, `base_url "/relative"`},
		{"one identity", `,
    {"name": "bob"`, `], "x": [{"name": "bob"`, `unknown field "x"`},
		{"foreign personal url", `["/account"]`, `["https://elsewhere.example/account"]`, "only checks the base URL's host"},
		{"short marker", `"bob@example.com"`, `"bob"`, `marker "bob" is too short`},
		{"duplicate name", `"name": "bob"`, `"name": "alice"`, `name "alice" is used twice`},
		{"no personal urls", `["/account"]`, `[]`, "personal_urls"},
		{"not json", `{`, `[`, "probe config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, strings.Replace(validConfig, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			for _, secret := range []string{"alice-cookie-value", "bob-token"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}
