package varnish

import (
	"os"
	"os/exec"
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

// A VCL that imports a vmod from a path it names is not compiled: VCC
// loads the vmod to compile against it, and a shared object beside an
// untrusted VCL would run its code on the machine that audits it. The
// shared object here writes a file when it is loaded. This test needs
// varnishd and a C compiler.
func TestImportFromPathIsNotRun(t *testing.T) {
	if Varnishd == "" {
		t.Fatal("varnishd is not installed: install it with: apt-get update && apt-get install -y varnish")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatal("no C compiler: install one with: apt-get update && apt-get install -y gcc")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	src := filepath.Join(dir, "evil.c")
	if err := os.WriteFile(src, []byte(`#include <stdio.h>
__attribute__((constructor)) static void ran(void) { FILE *f = fopen("`+marker+`", "w"); if (f) fclose(f); }
`), 0o600); err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, "evil.so")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", so, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	head := "vcl 4.1;\nbackend d { .host = \"127.0.0.1\"; }\n"
	direct := filepath.Join(dir, "direct.vcl")
	viaInclude := filepath.Join(dir, "main.vcl")
	for path, vcl := range map[string]string{
		direct:                          head + "import evil from \"" + so + "\";\n",
		viaInclude:                      head + "include \"inner.vcl\";\n",
		filepath.Join(dir, "inner.vcl"): "import evil from \"" + so + "\";\n",
	} {
		if err := os.WriteFile(path, []byte(vcl), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{direct, viaInclude} {
		cfg := read(t, path)
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s: auditing it ran the vmod's code", filepath.Base(path))
		}
		said := false
		for _, s := range cfg.Skipped {
			said = said || strings.Contains(s.What, `"import ... from"`)
		}
		if !said {
			t.Errorf("%s: no skip says why varnishd did not check it: %v", filepath.Base(path), cfg.Skipped)
		}
	}
}
