package varnish

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/internal/audittest"
)

// readDir reads every .vcl file under dir, as the audit of a directory
// gives them.
func readDir(t *testing.T, dir string) *audit.Config {
	return Read(audittest.Files(t, dir, func(path string) bool { return filepath.Ext(path) == ".vcl" }))
}

// Real VCLs, with the verdict a reader of Varnish's built-in VCL gives.
func TestFixtures(t *testing.T) {
	for _, c := range []struct {
		path    string
		want    []string
		skipped []string
		// unknown are the findings of want that are unknown, not asserted.
		unknown []string
	}{
		// Zeit Online's app cache: the liveblog API is hashed before the
		// built-in Authorization check (x-cache-auth), its responses and
		// the feeds' lose Cache-Control under x-ignore-cache-control
		// before the built-in private/no-store check, and every TTL
		// under 30 s (max-age=0, no-cache) becomes 30 s. Its Cookie is
		// removed only when the backend is not agatho, which the code
		// does not let us prove of the hashed requests, nor disprove:
		// unknown. Its includes are absolute paths, found here under the
		// directory; varnishd, which would read them from /etc/varnish,
		// is not run.
		{"testdata/zeit", []string{
			"high caches_authorization recv.vcl:69",
			"high cookies_not_in_key recv.vcl:69",
			"high ignores_private backend_response.vcl:10",
			"high overrides_freshness backend_response.vcl:6",
		}, []string{"testdata/zeit/default.vcl: skipped testdata/zeit/default.vcl:7 includes a file by absolute path, which varnishd would read from outside the paths given, so varnishd did not check that it compiles"},
			[]string{"cookies_not_in_key recv.vcl:69 sub vcl_recv is return (hash) before the built-in Cookie check when req.http.x-cache-auth == \"true\": the Cookie is removed only when req.backend_hint != agatho"}},
		// purgery keeps every built-in check: nothing returns before them.
		{"testdata/purgery.vcl", nil, nil, nil},
	} {
		t.Run(c.path, func(t *testing.T) {
			cfg := readDir(t, c.path)
			if len(cfg.Errors) > 0 {
				t.Fatalf("errors %v", cfg.Errors)
			}
			if got := audittest.Findings(cfg); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
			var unknown []string
			for _, f := range audit.Run(cfg.Scopes) {
				if f.Unknown {
					unknown = append(unknown, fmt.Sprintf("%s %s:%d %s is %s", f.ID, filepath.Base(f.File), f.Line, f.Setting, f.Value))
				}
			}
			if !slices.Equal(unknown, c.unknown) {
				t.Errorf("unknown %q, want %q", unknown, c.unknown)
			}
			var skipped []string
			for _, s := range cfg.Skipped {
				skipped = append(skipped, s.String())
			}
			if Varnishd != "" && !slices.Equal(skipped, c.skipped) {
				t.Errorf("skipped %q, want %q", skipped, c.skipped)
			}
		})
	}
}

// An absolute include is never read where it points: a file there that
// is not under the audited file's directory is not found, and said so.
func TestAbsoluteIncludeStaysInside(t *testing.T) {
	outside := t.TempDir()
	target := filepath.Join(outside, "leak.vcl")
	if err := os.WriteFile(target, []byte("sub vcl_backend_response {\n  return (deliver);\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	main := filepath.Join(dir, "main.vcl")
	if err := os.WriteFile(main, []byte("vcl 4.1;\ninclude \""+target+"\";\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := read(t, main)
	if len(cfg.Scopes) != 0 || len(cfg.Skipped) == 0 || cfg.Skipped[0].Line != 2 || !strings.Contains(cfg.Skipped[0].What, "not found") {
		t.Errorf("scopes %v, skipped %+v", cfg.Scopes, cfg.Skipped)
	}
}

// An include is read, and varnishd run, only where its links lead under
// the audited file's directory: a link out of it, to a file or to a
// directory, is skipped by the include's name, and what it points to is
// never quoted (here a file that is no VCL). An include that does not
// parse is not compiled either: varnishd would quote it.
func TestIncludeStaysInside(t *testing.T) {
	const secret = "hunter2pass"
	for _, c := range []struct {
		name, include string
		// link is where v/<include> or its directory points.
		link, target string
		compiled     bool
	}{
		{"link to a file outside", "c2.vcl", "v/c2.vcl", "../outside/c2.txt", false},
		{"link to a directory outside", "inc/c2.txt", "v/inc", "../outside", false},
		{"link inside", "c3.vcl", "v/c3.vcl", "sub/real.vcl", true},
		{"no VCL inside", "sub/bad.vcl", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			started := fakeVarnishd(t)
			t.Chdir(t.TempDir())
			write(t, map[string]string{
				"outside/c2.txt": secret + " {\n",
				"v/sub/real.vcl": "sub vcl_recv {\n  return (hash);\n}\n",
				"v/sub/bad.vcl":  secret + " {\n",
				"v/main.vcl":     "vcl 4.1;\ninclude \"" + c.include + "\";\n",
			})
			if c.link != "" {
				if err := os.Symlink(c.target, c.link); err != nil {
					t.Fatal(err)
				}
			}
			cfg := read(t, "v/main.vcl")
			if started() != c.compiled {
				t.Errorf("varnishd started: %v, want %v", started(), c.compiled)
			}
			said := fmt.Sprint(cfg.Errors, cfg.Skipped)
			if strings.Contains(said, secret) || !c.compiled && !strings.Contains(said, c.include) {
				t.Errorf("errors %v, skipped %+v", cfg.Errors, cfg.Skipped)
			}
			if read := len(cfg.Scopes) > 0; read != c.compiled {
				t.Errorf("the include was read: %v, want %v", read, c.compiled)
			}
		})
	}
}

// A varnishd that does not finish in time is a timeout, said as such,
// and leaves the file's audit incomplete (a skip), not a failed compile.
func TestCompileTimeout(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "varnishd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 30\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	saved, savedTimeout := Varnishd, CompileTimeout
	Varnishd, CompileTimeout = fake, 200*time.Millisecond
	t.Cleanup(func() { Varnishd, CompileTimeout = saved, savedTimeout })
	path := filepath.Join(dir, "ok.vcl")
	if err := os.WriteFile(path, []byte("vcl 4.1;\nsub vcl_recv {\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cfg := read(t, path)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the audit waited %s for varnishd", took)
	}
	if len(cfg.Errors) != 0 || len(cfg.Skipped) != 1 || !strings.Contains(cfg.Skipped[0].What, "did not finish within 200ms") ||
		!strings.Contains(cfg.Skipped[0].What, "incomplete") {
		t.Errorf("errors %v, skipped %+v", cfg.Errors, cfg.Skipped)
	}
}
