package fastly_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/fastly"
	"github.com/cachefence/cachefence/audit/terraform"
	"github.com/cachefence/cachefence/internal/audittest"
)

func files(t *testing.T, paths ...string) []audit.File {
	t.Helper()
	var out []audit.File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, audit.File{Path: p, Data: data})
	}
	return out
}

// Fastly's boilerplate split in two halves that a main VCL includes, as
// alexwilson/frontend uses it, is audited as the one program Fastly runs:
// the end half passes private, no-store and Set-Cookie, so no half alone
// gives its false critical. What is left is Fastly's default key, the URL
// and host: requests with cookies are looked up without them. The
// Image Optimizer's Set-Cookie removal is for images.
func TestBoilerplateHalves(t *testing.T) {
	const dir = "testdata/alexwilson"
	want := []string{"high cookies_not_in_key fastly-boilerplate-end.vcl:12"}
	// The halves given first or last, or alone with the main VCL found
	// beside them.
	for _, given := range [][]string{
		{"main.vcl", "fastly-boilerplate-begin.vcl", "fastly-boilerplate-end.vcl"},
		{"fastly-boilerplate-end.vcl", "fastly-boilerplate-begin.vcl", "main.vcl"},
		{"main.vcl"},
	} {
		var paths []string
		for _, g := range given {
			paths = append(paths, filepath.Join(dir, g))
		}
		if got := audittest.Whole(t, fastly.Read(files(t, paths...))); !slices.Equal(got, want) {
			t.Errorf("%v: got %q, want %q", given, got, want)
		}
	}
	// The begin half alone is what used to be audited: it never checks
	// private, and delivers.
	got := audittest.Whole(t, fastly.Read(files(t, filepath.Join(dir, "fastly-boilerplate-begin.vcl"))))
	if !slices.Contains(got, "critical stores_private fastly-boilerplate-begin.vcl:25") {
		t.Errorf("the begin half alone: %q", got)
	}
}

// The same service in Terraform: the main VCL's includes are the
// service's other vcl blocks, by name.
func TestBoilerplateTerraform(t *testing.T) {
	cfg := terraform.Read(files(t, "testdata/alexwilson-tf/main.tf"))
	if got, want := audittest.Whole(t, cfg), []string{"high cookies_not_in_key main.tf:42"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A main VCL made only of includes is Fastly's when a file it includes
// is; one that includes Varnish VCL, or nothing there, is not.
func TestDetectIncludes(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"begin.vcl":   "sub vcl_recv {\n#FASTLY recv\n}\n",
		"varnish.vcl": "vcl 4.1;\n#FASTLY recv\n",
		"fastly.vcl":  "include \"begin\";\n",
		"other.vcl":   "include \"varnish.vcl\";\ninclude \"missing.vcl\";\ninclude \"../begin.vcl\";\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]bool{"fastly.vcl": true, "other.vcl": false} {
		path := filepath.Join(dir, name)
		data, _ := os.ReadFile(path)
		if got := fastly.DetectVCL(path, data); got != want {
			t.Errorf("DetectVCL(%s) = %v, want %v", name, got, want)
		}
	}
}
