package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/stampvectors"
)

// TestJSIdentityVectors runs the JavaScript identity, which the
// cloudflare-worker and cloudfront-function targets carry, under Node on
// the shared stamp vectors.
func TestJSIdentityVectors(t *testing.T) {
	node := requireTool(t, "node", "nodejs")
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]jsConfig{}
	for name, c := range vf.Configs {
		configs[name] = newJSConfig(c.Fence())
	}
	in, err := json.Marshal(map[string]any{"key": vf.Key, "configs": configs, "vectors": vf.Vectors})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "vectors_node.js"), filepath.Join("js", "identity.js"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	i := 0
	for ; sc.Scan(); i++ {
		var got struct {
			Name, Identity, Stamp string
			Same                  bool
		}
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("node printed %q: %v", sc.Text(), err)
		}
		want := vf.Vectors[i]
		if got.Identity != want.Identity || got.Stamp != want.Stamp || !got.Same {
			t.Errorf("%s: identity %q stamp %s (compared equal: %v), want %q %s", want.Name, got.Identity, got.Stamp, got.Same, want.Identity, want.Stamp)
		}
	}
	if i != len(vf.Vectors) {
		t.Errorf("node answered %d vectors of %d", i, len(vf.Vectors))
	}
}

// requireTool returns the path of a program the test needs, or fails
// saying which Debian package has it.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: apt-get install -y %s (scripts/test installs it)", name, pkg)
	}
	return path
}

// TestJSIdentityKnownDifferences holds docs/edge.md to the differences
// it names between the guards' identity and the fence's: for each, the
// JavaScript identity differs from the fence's, so the owner's page is
// refused or passed, never delivered on a wrong reading. The day one is
// removed, this fails, and the docs must say so.
func TestJSIdentityKnownDifferences(t *testing.T) {
	cases := []struct {
		name, target, cookie string
		rules                fence.Config
	}{
		{"a path parameter Go escapes again", "/a;sid=x|y", "", fence.Config{}},
		{"a cookie name matched by Unicode case folding", "/", "ſession=a", fence.Config{SessionCookies: []string{"session"}}},
	}
	type input struct {
		Rules  jsConfig    `json:"rules"`
		Fields [][2]string `json:"fields"`
		Target string      `json:"target"`
	}
	var in []input
	for _, c := range cases {
		fields := [][2]string{}
		if c.cookie != "" {
			// Node reads the header's bytes, one character each, as the
			// runtimes hand them over.
			fields = append(fields, [2]string{"Cookie", latin1(c.cookie)})
		}
		in = append(in, input{newJSConfig(c.rules), fields, c.target})
	}
	var got []string
	runIdentityJS(t, "inputs => inputs.map(c => identity(identityRules(c.rules), c.fields, c.target))", in, &got)
	if len(got) != len(cases) {
		t.Fatalf("node answered %d identities of %d", len(got), len(cases))
	}
	for i, c := range cases {
		p, err := fence.New(c.rules)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		if c.cookie != "" {
			h.Set("Cookie", c.cookie)
		}
		u, err := url.ParseRequestURI(c.target)
		if err != nil {
			t.Fatal(err)
		}
		if fenceID := latin1(p.Identity(h, u)); got[i] == fenceID {
			t.Errorf("%s: the guard's identity is the fence's now, %q: docs/edge.md must no longer list it", c.name, fenceID)
		}
	}
}

// latin1 is s's bytes, one character each.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// runIdentityJS runs, under Node, the function expr with js/identity.js's
// functions in scope on in, as JSON, and reads what it returns into out.
func runIdentityJS(t *testing.T, expr string, in, out any) {
	t.Helper()
	node := requireTool(t, "node", "nodejs")
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "-e", `const vm = require("vm"), fs = require("fs"), ctx = {};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], "latin1"), ctx);
const input = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(vm.runInContext(process.argv[2], ctx)(input)));`, filepath.Join("js", "identity.js"), expr)
	cmd.Stdin = bytes.NewReader(data)
	stdout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stdout)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("node printed %q: %v", stdout, err)
	}
}
