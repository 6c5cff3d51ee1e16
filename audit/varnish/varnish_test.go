package varnish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// varnishd compiles each file: a VCL that cachefence parses but Varnish
// rejects is an error at the line varnishd names, and a credential on
// that line is not repeated. This test needs varnishd.
func TestCompile(t *testing.T) {
	if Varnishd == "" {
		t.Fatal("varnishd is not installed: install it with: apt-get update && apt-get install -y varnish")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.vcl")
	bad := filepath.Join(dir, "bad.vcl")
	secret := filepath.Join(dir, "secret.vcl")
	unquoted := filepath.Join(dir, "unquoted.vcl")
	for path, vcl := range map[string]string{
		good:   "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\nsub vcl_recv {\n  return (hash);\n}\n",
		bad:    "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\nsub vcl_recv {\n  set req.nonsense = 1;\n}\n",
		secret: "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\nsub vcl_backend_fetch {\n  set bereq.http.Authorization = \"Basic c2VjcmV0\" + ;\n}\n",
		// The origin secret, without its quotes: varnishd quotes it back.
		unquoted: "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\nsub vcl_backend_fetch {\n  set bereq.http.X-Origin-Verify = q8Zr7uVb2KpX4mN9wT3e;\n}\n",
	} {
		if err := os.WriteFile(path, []byte(vcl), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if cfg := read(t, good); len(cfg.Errors) != 0 {
		t.Errorf("good VCL: %v", cfg.Errors)
	}
	cfg := read(t, bad)
	if len(cfg.Errors) != 1 || !strings.HasPrefix(cfg.Errors[0].Error(), bad+":4: varnishd -C: ") {
		t.Errorf("bad VCL: %v", cfg.Errors)
	}
	cfg = read(t, secret)
	if len(cfg.Errors) != 1 || strings.Contains(cfg.Errors[0].Error(), "c2VjcmV0") {
		t.Errorf("VCL with a credential: %v", cfg.Errors)
	}
	cfg = read(t, unquoted)
	if len(cfg.Errors) != 1 || strings.Contains(cfg.Errors[0].Error(), "q8Zr7uVb2KpX4mN9wT3e") ||
		!strings.Contains(cfg.Errors[0].Error(), unquoted+":4: varnishd -C: ") {
		t.Errorf("VCL with a header's value unquoted: %v", cfg.Errors)
	}
}

func read(t *testing.T, path string) *audit.Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Read([]audit.File{{Path: path, Data: data}})
}

// An include that is missing is said, and the file it would have held is
// not audited in silence.
func TestMissingInclude(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.vcl")
	if err := os.WriteFile(path, []byte("vcl 4.1;\ninclude \"gone.vcl\";\nsub vcl_recv {\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	saved := Varnishd
	Varnishd = "" // varnishd would fail on the missing file too
	t.Cleanup(func() { Varnishd = saved })
	cfg := read(t, path)
	if len(cfg.Skipped) != 1 || cfg.Skipped[0].Line != 2 || !strings.Contains(cfg.Skipped[0].What, "gone.vcl") {
		t.Errorf("skipped %+v", cfg.Skipped)
	}
}

// A VCL that imports a vmod in any form but "import NAME;" is not
// compiled: VCC loads the vmod to compile against it, and a shared object
// beside an untrusted VCL would run its code on the machine that audits
// it. A comment or a newline between the words changes nothing. The
// varnishd here only records that it was started.
func TestImportFromPathIsNotRun(t *testing.T) {
	head := "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\n"
	for _, c := range []struct {
		name, vcl, inner string
		compiled         bool
	}{
		{"from", `import evil from "/tmp/evil.so";`, "", false},
		{"block comment", `import evil /* x */ from "/tmp/evil.so";`, "", false},
		{"hash comment", "import evil # x\nfrom \"/tmp/evil.so\";", "", false},
		{"slash comment", "import evil // x\nfrom \"/tmp/evil.so\";", "", false},
		{"newline", "import\nevil\nfrom \"/tmp/evil.so\";", "", false},
		{"in an include", `include "inner.vcl";`, `import evil /* x */ from "/tmp/evil.so";`, false},
		{"installed vmod", "import std; # not from a path", "", true},
		{"installed vmod in an include", `include "inner.vcl";`, "import std;", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			fake := filepath.Join(dir, "varnishd")
			if err := os.WriteFile(fake, []byte("#!/bin/sh\necho started >> "+calls+"\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			saved := Varnishd
			Varnishd = fake
			t.Cleanup(func() { Varnishd = saved })
			main := filepath.Join(dir, "main.vcl")
			for path, vcl := range map[string]string{main: head + c.vcl + "\n", filepath.Join(dir, "inner.vcl"): c.inner + "\n"} {
				if err := os.WriteFile(path, []byte(vcl), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg := read(t, main)
			_, err := os.Stat(calls)
			if started := err == nil; started != c.compiled {
				t.Errorf("varnishd started: %v, want %v", started, c.compiled)
			}
			said := false
			for _, s := range cfg.Skipped {
				said = said || strings.Contains(s.What, `"import ... from"`)
			}
			if said == c.compiled {
				t.Errorf("skips %v", cfg.Skipped)
			}
		})
	}
}
