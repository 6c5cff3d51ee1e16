package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestCaddyfileAdapt adapts each testdata/caddyfile_adapt/*.caddyfiletest
// as Caddy's own caddyfile_adapt tests do: a Caddyfile, a line of ten
// dashes, then either the JSON it must adapt to (indented with tabs) or a
// text the adapter's error must contain. Adapting must give no warnings,
// and no error may show an owner_stamp key.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "caddyfile_adapt", "*.caddyfiletest"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".caddyfiletest"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, expected, ok := strings.Cut(string(data), "----------")
			if !ok {
				t.Fatalf("%s has no ---------- line", file)
			}
			caddyfile, expected = strings.TrimSpace(caddyfile)+"\n", strings.TrimSpace(expected)
			if expected == "" {
				t.Fatalf("%s expects nothing after its ---------- line", file)
			}
			adapted, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
			for _, w := range warnings {
				t.Errorf("warning: line %d: %s: %s", w.Line, w.Directive, w.Message)
			}
			if !strings.HasPrefix(expected, "{") {
				switch {
				case err == nil:
					t.Fatalf("adapted without an error, want one containing %q", expected)
				case !strings.Contains(err.Error(), expected):
					t.Fatalf("error %q does not contain %q", err, expected)
				case strings.Contains(err.Error(), "too-short-key"):
					t.Fatalf("error %q shows the owner_stamp key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, adapted, "", "\t"); err != nil {
				t.Fatal(err)
			}
			if got.String() != expected {
				t.Errorf("adapted JSON differs from the golden file %s; got:\n%s", file, got.String())
			}
		})
	}
}
