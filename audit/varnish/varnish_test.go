package varnish

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// varnishd compiles each file: a VCL that cachefence parses but Varnish
// rejects is an error at the file and line varnishd names, as the file
// was given (relative here), and nothing varnishd quotes of the file is
// repeated, on whatever line. This test needs varnishd.
func TestCompile(t *testing.T) {
	if Varnishd == "" {
		t.Fatal("varnishd is not installed: install it with: apt-get update && apt-get install -y varnish")
	}
	const head = "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\n"
	for _, c := range []struct {
		name, main, inc string
		// at starts the error, if one is wanted; hidden is what it must
		// not hold.
		at, hidden string
	}{
		{"good", "sub vcl_recv {\n  return (hash);\n}\n", "", "", ""},
		{"bad", "sub vcl_recv {\n  set req.nonsense = 1;\n}\n", "", "main.vcl:4: varnishd -C: ", ""},
		{"credential", "sub vcl_backend_fetch {\n  set bereq.http.Authorization = \"Basic c2VjcmV0\" + ;\n}\n", "", "main.vcl:4: varnishd -C: ", "c2VjcmV0"},
		// The origin secret, without its quotes: varnishd quotes it back.
		{"header value unquoted", "sub vcl_backend_fetch {\n  set bereq.http.X-Origin-Verify = q8Zr7uVb2KpX4mN9wT3e;\n}\n", "", "main.vcl:4: varnishd -C: ", "q8Zr7uVb2KpX4mN9wT3e"},
		{"no header on the line", "sub vcl_recv {\n  hunter2pass;\n}\n", "", "main.vcl:4: varnishd -C: ", "hunter2pass"},
		{"in an include", "include \"inc/x.vcl\";\n", "sub vcl_recv {\n  hunter2pass;\n}\n", "inc/x.vcl:2: varnishd -C: ", "hunter2pass"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			write(t, map[string]string{"main.vcl": head + c.main, "inc/x.vcl": c.inc})
			cfg := read(t, "main.vcl")
			if c.at == "" {
				if len(cfg.Errors) != 0 {
					t.Errorf("errors %v", cfg.Errors)
				}
				return
			}
			if len(cfg.Errors) != 1 || !strings.HasPrefix(cfg.Errors[0].Error(), c.at) ||
				c.hidden != "" && strings.Contains(cfg.Errors[0].Error(), c.hidden) {
				t.Errorf("errors %v", cfg.Errors)
			}
		})
	}
}

// write writes files, by path, making their directories.
func write(t *testing.T, files map[string]string) {
	t.Helper()
	for path, text := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// What varnishd quotes is digested: from the first quote to the last,
// since a token quoted may hold quotes itself.
func TestHideQuoted(t *testing.T) {
	for msg, want := range map[string]string{
		"VCL compilation failed":            "VCL compilation failed",
		"Symbol not found: 'hunter2'":       "Symbol not found: '" + audit.Digest("hunter2") + "'",
		`Expected ';' got '"pa'ss"'`:        "Expected '" + audit.Digest(`;' got '"pa'ss"`) + "'",
		"Found: '{\"long string not closed": "Found: '" + audit.Digest("{\"long string not closed"),
	} {
		if got := hideQuoted(msg); got != want {
			t.Errorf("hideQuoted(%q) = %q, want %q", msg, got, want)
		}
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
			started := fakeVarnishd(t)
			t.Chdir(t.TempDir())
			write(t, map[string]string{"main.vcl": head + c.vcl + "\n", "inner.vcl": c.inner + "\n"})
			cfg := read(t, "main.vcl")
			if started() != c.compiled {
				t.Errorf("varnishd started: %v, want %v", started(), c.compiled)
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

// fakeVarnishd stands in for varnishd, which then compiles every file,
// and says whether it was started.
func fakeVarnishd(t *testing.T) (started func() bool) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "varnishd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho started >> "+calls+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	saved := Varnishd
	Varnishd = fake
	t.Cleanup(func() { Varnishd = saved })
	return func() bool {
		_, err := os.Stat(calls)
		return err == nil
	}
}

// A file nested deeper than the parser reads, given or included, is not
// compiled: varnishd could run on it until CompileTimeout. One nested
// as deep as the parser reads is.
func TestTooDeepIsNotCompiled(t *testing.T) {
	nested := func(n int) string {
		return "sub vcl_recv {\n" + strings.Repeat("if (req.url) {\n", n) + strings.Repeat("}\n", n) + "}\n"
	}
	const head = "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\n"
	for _, c := range []struct {
		name, main, inc string
		compiled        bool
	}{
		{"given", head + nested(200), "", false},
		{"included", head + "include \"inc.vcl\";\n", nested(200), false},
		{"as deep as read", head + "include \"inc.vcl\";\n", nested(100), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			started := fakeVarnishd(t)
			t.Chdir(t.TempDir())
			write(t, map[string]string{"main.vcl": c.main, "inc.vcl": c.inc})
			cfg := read(t, "main.vcl")
			if started() != c.compiled {
				t.Errorf("varnishd started: %v, want %v", started(), c.compiled)
			}
			said := strings.Contains(fmt.Sprint(cfg.Skipped), "deeper than the audit reads, so varnishd did not check")
			if said == c.compiled {
				t.Errorf("skipped %+v", cfg.Skipped)
			}
		})
	}
}
