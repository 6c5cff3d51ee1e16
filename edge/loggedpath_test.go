package edge

import (
	"strings"
	"testing"

	"github.com/cachefence/cachefence/internal/stampvectors"
)

// loggedPathCases are paths as sent, with what the guards may log of
// them. No session id or token (SECRET) is ever logged, nor anything
// that would start a line of its own.
var loggedPathCases = []struct {
	path, logged string
}{
	{"/account/orders", "/account/orders"},
	{"/account;jsessionid=SECRET", "/account"},
	{"/account%3Bjsessionid=SECRET", "/account"},
	{"/account%3bjsessionid=SECRET", "/account"},
	{"/account%253Bjsessionid=SECRET", "/account"},
	{"/(S(SECRET))/account", "/"},
	{"/app/(S(SECRET))/account", "/app/"},
	{"/shop/caf%C3%A9", "/shop/caf"},
	{"/gz%0Aforged line", "/gz"},
}

// TestJSLoggedPath runs the JavaScript guards' loggedPath under Node.
func TestJSLoggedPath(t *testing.T) {
	paths := make([]string, len(loggedPathCases))
	for i, c := range loggedPathCases {
		paths[i] = c.path
	}
	var got []string
	runIdentityJS(t, "paths => paths.map(loggedPath)", paths, &got)
	if len(got) != len(paths) {
		t.Fatalf("node answered %d paths of %d", len(got), len(paths))
	}
	for i, c := range loggedPathCases {
		if got[i] != c.logged {
			t.Errorf("loggedPath(%q) = %q, want %q", c.path, got[i], c.logged)
		}
	}
}

// TestNginxLuaLoggedPath refuses, in real nginx, a page on each path
// (with a token in its query), and reads what the guard wrote to nginx's
// error log; and so for a guard without a key, which says so.
func TestNginxLuaLoggedPath(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	v := vf.Vectors[2] // a session cookie
	guard := nginxGuardGenerate(t, vf.Configs[v.Config].Fence())
	nginx := nginxGuardStart(t, guard, map[string]string{nginxGuardKeyName: vf.Key})
	const prefix = "cachefence guard: refused a page stamped for someone else: "
	for _, c := range loggedPathCases {
		resp, body := nginxGuardGet(t, nginx.Addr, strings.ReplaceAll(c.path, " ", "%20")+"?token=SECRET", [][2]string{{"Cookie", "session=bob"}}, "X-Nginxguard-Stamp: "+v.Stamp)
		nginxGuardRefused(t, c.path, resp, body)
	}
	var logged []string
	log := nginxGuardLog(t, nginx, func(log string) bool {
		logged = logged[:0]
		for _, line := range strings.Split(log, "\n") {
			if _, rest, ok := strings.Cut(line, prefix); ok {
				path, _, _ := strings.Cut(rest, ", context: ")
				logged = append(logged, path)
			}
		}
		return len(logged) >= len(loggedPathCases)
	})
	if len(logged) != len(loggedPathCases) || strings.Contains(log, "SECRET") || strings.Contains(log, "\nforged") {
		t.Fatalf("nginx logged %d refusals, want %d, and never SECRET or a line of the path's:\n%s", len(logged), len(loggedPathCases), log)
	}
	for i, c := range loggedPathCases {
		if logged[i] != strings.ReplaceAll(c.logged, " ", "%20") {
			t.Errorf("refusing %s, nginx logged %q, want %q", c.path, logged[i], c.logged)
		}
	}

	keyless := nginxGuardStart(t, guard, nil)
	resp, body := nginxGuardGet(t, keyless.Addr, v.URL+"?token=SECRET", v.Headers, "X-Nginxguard-Stamp: "+v.Stamp)
	nginxGuardRefused(t, "the owner's page, no key", resp, body)
	nginxGuardLogged(t, keyless, "no key in "+nginxGuardKeyName)
}
