package edge

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/internal/stampvectors"
)

// loggedPathCases are paths as sent, with what the guards may log of
// them: the JavaScript guards read the path as sent, nginx decoded. No
// session id (SECRET) is ever logged.
var loggedPathCases = []struct {
	path, js, nginx string
}{
	{"/account/orders", "/account/orders", "/account/orders"},
	{"/account;jsessionid=SECRET", "/account", "/account"},
	{"/account%3Bjsessionid=SECRET", "/account", "/account"},
	{"/account%3bjsessionid=SECRET", "/account", "/account"},
	{"/account%253Bjsessionid=SECRET", "/account", "/account"},
	{"/(S(SECRET))/account", "/", "/"},
	{"/app/(S(SECRET))/account", "/app/", "/app/"},
	{"/shop/caf%C3%A9", "/shop/caf", "/shop/café"},
}

// TestJSLoggedPath runs the JavaScript guards' loggedPath under Node.
func TestJSLoggedPath(t *testing.T) {
	node := requireTool(t, "node", "nodejs")
	paths := make([]string, len(loggedPathCases))
	for i, c := range loggedPathCases {
		paths[i] = c.path
	}
	in, err := json.Marshal(paths)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "-e", `const vm = require("vm"), fs = require("fs"), ctx = {};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], "latin1"), ctx);
console.log(JSON.stringify(JSON.parse(fs.readFileSync(0, "latin1")).map(ctx.loggedPath)));`, filepath.Join("js", "identity.js"))
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(paths) {
		t.Fatalf("node printed %q (%v), want %d paths", out, err, len(paths))
	}
	for i, c := range loggedPathCases {
		if got[i] != c.js {
			t.Errorf("loggedPath(%q) = %q, want %q", c.path, got[i], c.js)
		}
	}
}

// TestNginxLuaLoggedPath refuses, in real nginx, a page on each path,
// and reads what the guard wrote to nginx's error log.
func TestNginxLuaLoggedPath(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	v := vf.Vectors[2] // a session cookie
	nginx := nginxGuardStart(t, nginxGuardGenerate(t, vf.Configs[v.Config].Fence()), map[string]string{nginxGuardKeyName: vf.Key})
	const prefix = "cachefence guard: refused a page stamped for someone else: "
	for _, c := range loggedPathCases {
		resp, body := nginxGuardGet(t, nginx.Addr, c.path, [][2]string{{"Cookie", "session=bob"}}, "X-Nginxguard-Stamp: "+v.Stamp)
		nginxGuardRefused(t, c.path, resp, body)
	}
	// The guard logs from a timer, after the response.
	var logged []string
	for deadline := time.Now().Add(10 * time.Second); len(logged) < len(loggedPathCases) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, err := os.ReadFile(nginx.ErrorLog)
		if err != nil {
			t.Fatal(err)
		}
		logged = logged[:0]
		for _, line := range strings.Split(string(data), "\n") {
			if _, rest, ok := strings.Cut(line, prefix); ok {
				path, _, _ := strings.Cut(rest, ", context: ")
				logged = append(logged, path)
			}
		}
	}
	if len(logged) != len(loggedPathCases) {
		t.Fatalf("nginx logged %d refusals, want %d: %q", len(logged), len(loggedPathCases), logged)
	}
	for i, c := range loggedPathCases {
		if logged[i] != c.nginx {
			t.Errorf("refusing %s, nginx logged %q, want %q", c.path, logged[i], c.nginx)
		}
	}
}
