package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every backend's address becomes the origin's, a missing field is
// added, the rest of the VCL stays as written, and a Unix socket backend
// is refused.
func TestPointBackends(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"host and port", `backend b { .host = "db.internal"; .port = "8080"; .probe = { .url = "/"; } }`,
			`backend b { .host = "127.0.0.1"; .port = "6000"; .probe = { .url = "/"; } }`, ""},
		{"no port", `backend default { .host = "app"; }`, `backend default { .port = "6000"; .host = "127.0.0.1"; }`, ""},
		{"two backends, comments", "backend a { .host = \"x\"; # .port = \"1\";\n}\nbackend b { .port = \"81\"; .host = \"y\"; }",
			"backend a { .port = \"6000\"; .host = \"127.0.0.1\"; # .port = \"1\";\n}\nbackend b { .port = \"6000\"; .host = \"127.0.0.1\"; }", ""},
		{"not a backend", `sub vcl_recv { set req.http.host = "x"; }`, `sub vcl_recv { set req.http.host = "x"; }`, ""},
		{"unix socket", `backend s { .path = "/run/app.sock"; }`, "", "backend s is a Unix socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &vclProgram{host: "127.0.0.1", port: "6000"}
			out, err := p.pointBackends("x.vcl", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(out) != tc.want {
				t.Errorf("got %q (%v)\nwant %q", out, err, tc.want)
			}
		})
	}
}

// Includes are copied with their backends rewritten and each include
// statement pointed at the copy: relative to the including file, and an
// absolute one by its trailing path beside the configuration; one found
// nowhere is left to Varnish's own VCL, and said, unless it is absolute.
func TestVCLIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("main.vcl", "vcl 4.1;\ninclude \"inc/backends.vcl\";\ninclude \"/etc/varnish/inc/recv.vcl\";\ninclude \"devicedetect.vcl\";\n")
	write("inc/backends.vcl", `backend b { .host = "10.0.0.1"; .port = "80"; }`+"\n")
	write("inc/recv.vcl", "include \"backends.vcl\";\nsub vcl_recv { return (pass); }\n")
	out := t.TempDir()
	p := &vclProgram{dir: out, root: dir, host: "127.0.0.1", port: "6000", written: map[string]string{}}
	main, err := p.write(filepath.Join(dir, "main.vcl"), 0)
	if err != nil {
		t.Fatal(err)
	}
	text := read(t, main)
	backends := p.written[filepath.Join(dir, "inc/backends.vcl")]
	recv := p.written[filepath.Join(dir, "inc/recv.vcl")]
	if backends == "" || recv == "" || !strings.Contains(text, `include "`+backends+`";`) || !strings.Contains(text, `include "`+recv+`";`) {
		t.Fatalf("main.vcl does not include the copies %v:\n%s", p.written, text)
	}
	if !strings.Contains(read(t, recv), `include "`+backends+`";`) {
		t.Errorf("recv.vcl's include of backends.vcl, beside it, is not the copy:\n%s", read(t, recv))
	}
	if got := read(t, backends); !strings.Contains(got, `.host = "127.0.0.1"; .port = "6000";`) {
		t.Errorf("the included backend is not the origin: %s", got)
	}
	if !strings.Contains(text, `include "devicedetect.vcl";`) || len(p.notes) != 1 || !strings.Contains(p.notes[0], "devicedetect.vcl") {
		t.Errorf("devicedetect.vcl: %s, notes %q", text, p.notes)
	}
}

func TestVCLAbsoluteIncludeNotBeside(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.vcl"), []byte("vcl 4.1;\ninclude \"/etc/varnish/backends.vcl\";\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &vclProgram{dir: t.TempDir(), root: dir, host: "127.0.0.1", port: "6000", written: map[string]string{}}
	if _, err := p.write(filepath.Join(dir, "main.vcl"), 0); err == nil || !strings.Contains(err.Error(), "is not beside the configuration") {
		t.Errorf("error %v", err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// varnishd's messages keep the position of an error but not the VCL line
// the compiler quotes after it.
func TestHideVCLSource(t *testing.T) {
	out := "Message from VCC-compiler:\nExpected ';' got '}'\n('/tmp/x.vcl' Line 3 Pos 54)\n  if (req.http.Authorization == \"Basic c2VjcmV0\") { return (pass) }\n---------------------------------------------------------------------#\n\nRunning VCC-compiler failed, exited with 2\n"
	got := hideVCLSource(out)
	if strings.Contains(got, "c2VjcmV0") || !strings.Contains(got, "Line 3 Pos 54") || !strings.Contains(got, "Running VCC-compiler failed") {
		t.Errorf("got:\n%s", got)
	}
}
