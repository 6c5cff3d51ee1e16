// Package varnish turns Varnish VCL files, with their includes, into the
// audit's model, and asks varnishd, where it is installed, whether each
// file compiles.
package varnish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/vcl"
)

// Kind is the name of this format for --kind.
const Kind = "varnish"

// Detect says whether a file is Varnish VCL: a .vcl file, or a "vcl 4"
// declaration.
func Detect(path string, data []byte) bool {
	return filepath.Ext(path) == ".vcl" || bytes.HasPrefix(bytes.TrimSpace(data), []byte("vcl 4"))
}

// Varnishd is the varnishd binary that checks that a file compiles; an
// empty one checks nothing.
var Varnishd = findVarnishd()

func findVarnishd() string {
	if p, err := exec.LookPath("varnishd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/varnishd"); err == nil {
		return "/usr/sbin/varnishd"
	}
	return ""
}

// maxIncludes bounds the files one VCL may pull in.
const maxIncludes = 200

// Read reads VCL files and their includes. A file included by another one
// given is audited as part of it.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	included := map[string]bool{}
	merged := map[string]*vcl.File{}
	vmodFrom := map[string]bool{}
	for _, f := range files {
		parsed, err := vcl.Parse(f.Data)
		if err != nil {
			fail(cfg, f.Path, err)
			continue
		}
		m := &merger{cfg: cfg, seen: map[string]bool{}, vmodFrom: importsFromPath(f.Data)}
		merged[f.Path] = m.merge(f.Path, parsed, 0)
		for name := range m.seen {
			included[name] = true
		}
		if m.vmodFrom {
			vmodFrom[f.Path] = true
		}
	}
	for _, f := range files {
		m, ok := merged[f.Path]
		if !ok || included[filepath.Clean(f.Path)] {
			continue
		}
		cfg.Settings = append(cfg.Settings, vcl.Flatten(f.Path, m)...)
		cfg.Scopes = append(cfg.Scopes, vcl.Scopes(f.Path, m, vcl.Varnish)...)
		switch {
		case Varnishd == "":
		case vmodFrom[f.Path]:
			// VCC loads a vmod to compile against it: one named by path
			// is code that came with the input, and would run here.
			cfg.Skip(f.Path, 0, `an "import ... from" loads a vmod from a path the input names, which varnishd -C would run, so varnishd did not check that it compiles`)
		default:
			compile(cfg, f.Path)
		}
	}
	return cfg
}

func fail(cfg *audit.Config, file string, err error) {
	var se *vcl.SyntaxError
	if errors.As(err, &se) {
		cfg.Fail(file, se.Line, errors.New(se.Msg))
		return
	}
	cfg.Fail(file, 0, err)
}

// merger puts included files' subroutines in, as Varnish does: subs of
// one name are concatenated in the order they appear.
type merger struct {
	cfg  *audit.Config
	seen map[string]bool
	// vmodFrom: a file read imports a vmod from a path.
	vmodFrom bool
}

// importFrom matches VCL that imports a vmod from a file path, even in a
// comment: a false match only costs the compile check.
var importFrom = regexp.MustCompile(`\bimport\s+[A-Za-z0-9_]+\s+from\b`)

// importsFromPath reports VCL text holding an "import ... from".
func importsFromPath(data []byte) bool { return importFrom.Match(data) }

func (m *merger) merge(path string, f *vcl.File, depth int) *vcl.File {
	out := &vcl.File{}
	for _, s := range f.Subs {
		if s.File == "" && depth > 0 {
			s.File = path
		}
	}
	add := func(subs []*vcl.Sub) {
		for _, s := range subs {
			if prev := out.Sub(s.Name); prev != nil {
				prev.Body = append(prev.Body, s.Body...)
				continue
			}
			c := *s
			out.Subs = append(out.Subs, &c)
		}
	}
	next := 0
	for _, inc := range f.Includes {
		add(f.Subs[next:inc.Before])
		next = inc.Before
		name := filepath.Clean(filepath.Join(filepath.Dir(path), inc.Path))
		if filepath.IsAbs(inc.Path) {
			name = filepath.Clean(inc.Path)
		}
		data, err := os.ReadFile(name)
		if err != nil || m.seen[name] || len(m.seen) >= maxIncludes || depth > 20 {
			m.cfg.Skip(path, inc.Line, "include %q: not found here, or included again, so not audited", inc.Path)
			continue
		}
		m.seen[name] = true
		m.vmodFrom = m.vmodFrom || importsFromPath(data)
		inner, err := vcl.Parse(data)
		if err != nil {
			fail(m.cfg, name, err)
			continue
		}
		add(m.merge(name, inner, depth+1).Subs)
	}
	add(f.Subs[next:])
	return out
}

var vccLine = regexp.MustCompile(`\('([^']*)' Line (\d+) Pos \d+\)`)

// vccQuoted matches what a message of varnishd quotes.
var vccQuoted = regexp.MustCompile(`'[^']*'`)

// compile runs varnishd -C on file. A failure is an error at the line
// varnishd names; the message is kept, but not the source lines varnishd
// quotes, which may hold a credential.
func compile(cfg *audit.Config, file string) {
	abs, err := filepath.Abs(file)
	if err != nil {
		cfg.Fail(file, 0, err)
		return
	}
	dir, err := os.MkdirTemp("", "cachefence-vcc-")
	if err != nil {
		cfg.Fail(file, 0, fmt.Errorf("varnishd -C: %w", err))
		return
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// -j none: as root, varnishd would otherwise compile as an
	// unprivileged user who cannot write the working directory.
	cmd := exec.CommandContext(ctx, Varnishd, "-j", "none", "-n", dir,
		"-p", "vcl_path="+filepath.Dir(abs)+":/usr/share/varnish/vcl:/etc/varnish", "-C", "-f", abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		return
	}
	msg, at, line := vccMessage(stderr.String())
	if at == "" || at == abs {
		at = file
	}
	if strings.Contains(msg, "could not be resolved") {
		cfg.Skip(at, line, "a backend host that does not resolve here, so varnishd could not check that it compiles")
		return
	}
	cfg.Fail(at, line, fmt.Errorf("varnishd -C: %s", msg))
}

// vccMessage extracts the compiler's message, file and line from
// varnishd's output.
func vccMessage(out string) (msg, file string, line int) {
	_, rest, ok := strings.Cut(out, "Message from VCC-compiler:\n")
	if !ok {
		return "VCL compilation failed", "", 0
	}
	var lines []string
	var source string // the line varnishd quotes from the file
	all := strings.Split(rest, "\n")
	for i, l := range all {
		if m := vccLine.FindStringSubmatch(l); m != nil {
			file = m[1]
			line, _ = strconv.Atoi(m[2])
			if i+1 < len(all) {
				source = all[i+1]
			}
			break
		}
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	msg = strings.Join(lines, " ")
	if strings.Contains(strings.ToLower(source), ".http.") {
		// On a line that handles a header, what the message quotes
		// ("Symbol not found: 'x'") may be the header's value.
		msg = vccQuoted.ReplaceAllStringFunc(msg, func(q string) string { return "'" + audit.Digest(q[1:len(q)-1]) + "'" })
	}
	if audit.LooksSecret(msg) {
		msg = "VCL compilation failed (the message quotes what may be a credential)"
	}
	return msg, file, line
}
