package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

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
