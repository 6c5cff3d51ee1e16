// Package varnish turns Varnish VCL files, with their includes, into the
// audit's model, and asks varnishd, where it is installed, whether each
// file compiles.
package varnish

import (
	"bytes"
	"context"
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

// CompileTimeout bounds how long varnishd -C may take on one file.
var CompileTimeout = time.Minute

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

// Read reads VCL files and their includes. A file included by another one
// given is audited as part of it.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	vmodFrom := map[string]bool{}
	r := &reader{cfg: cfg, files: vcl.NewFiles(cfg, files, func(path string, data []byte) {
		vmodFrom[path] = !vcl.PlainImports(data)
	})}
	type program struct {
		path   string
		f      *vcl.File
		vmod   bool
		unsafe string
	}
	var programs []program
	included := map[string]bool{}
	for _, f := range files {
		key := filepath.Clean(f.Path)
		parsed := r.files.Given(key)
		if parsed == nil {
			continue
		}
		r.files.Root, r.unsafe = filepath.Dir(key), tooDeep(key, parsed)
		merged, keys := vcl.Program(key, parsed, r.load, r.skip)
		p := program{path: f.Path, f: merged, vmod: vmodFrom[key], unsafe: r.unsafe}
		for _, k := range keys {
			included[k] = true
			p.vmod = p.vmod || vmodFrom[k]
		}
		programs = append(programs, p)
	}
	for _, p := range programs {
		if included[filepath.Clean(p.path)] {
			continue
		}
		cfg.Settings = append(cfg.Settings, vcl.Flatten(p.path, p.f)...)
		cfg.Scopes = append(cfg.Scopes, vcl.Scopes(p.path, p.f, vcl.Varnish)...)
		switch {
		case Varnishd == "":
		case p.vmod:
			// VCC loads a vmod to compile against it: one named by path
			// is code that came with the input, and would run here.
			cfg.Skip(p.path, 0, `an import other than "import NAME;", such as an "import ... from", may load a vmod from a path the input names, which varnishd -C would run, so varnishd did not check that it compiles`)
		case p.unsafe != "":
			cfg.Skip(p.path, 0, "%s, so varnishd did not check that it compiles", p.unsafe)
		default:
			compile(cfg, p.path)
		}
	}
	return cfg
}

// reader follows the includes of one file at a time.
type reader struct {
	cfg   *audit.Config
	files *vcl.Files
	// unsafe says why varnishd may not compile the file as it stands
	// (an include it would look for elsewhere, or not find), or is empty.
	unsafe string
}

// load finds an include. A relative one is beside the file that includes
// it. An absolute one is never read where it points, outside what was
// given: it is looked for under the audited file's directory by its
// trailing path ("/etc/varnish/inc/x.vcl" as inc/x.vcl, then x.vcl).
func (r *reader) load(from string, inc vcl.Include) (string, *vcl.File, bool) {
	candidates := []string{filepath.Join(filepath.Dir(from), inc.Path)}
	if filepath.IsAbs(inc.Path) {
		if r.unsafe == "" {
			r.unsafe = fmt.Sprintf("%s:%d includes a file by absolute path, which varnishd would read from outside the paths given", from, inc.Line)
		}
		parts := strings.Split(filepath.Clean(inc.Path), string(filepath.Separator))
		candidates = candidates[:0]
		for i := 1; i < len(parts); i++ {
			candidates = append(candidates, filepath.Join(r.files.Root, filepath.Join(parts[i:]...)))
		}
	}
	if name, f, ok := r.files.Find(candidates...); name != "" {
		switch {
		case r.unsafe != "":
		case !ok:
			r.unsafe = fmt.Sprintf("the file included at %s:%d does not parse", from, inc.Line)
		default:
			r.unsafe = tooDeep(name, f)
		}
		return name, f, ok
	}
	r.skip(from, inc)
	return "", nil, false
}

// tooDeep says why a file nested past what the parser reads is not
// compiled, or returns "": varnishd could spend minutes on it.
func tooDeep(key string, f *vcl.File) string {
	if !f.TooDeep {
		return ""
	}
	return key + " nests statements deeper than the audit reads"
}

func (r *reader) skip(from string, inc vcl.Include) {
	if r.unsafe == "" {
		r.unsafe = fmt.Sprintf("the include at %s:%d was not read", from, inc.Line)
	}
	r.cfg.Skip(from, inc.Line, "include %q: not found under the audited file's directory (a link out of it is not followed), or included again, so not audited", inc.Path)
}

var vccLine = regexp.MustCompile(`\('([^']*)' Line (\d+) Pos \d+\)`)

// hideQuoted digests what a message of varnishd quotes ("Found: 'x'",
// "Symbol not found: 'x'"): the file's text, which may be a header's
// value, or no VCL at all. A token quoted may hold quotes itself, so all
// from the first quote to the last is one; a quote left open runs to the
// end.
func hideQuoted(msg string) string {
	first, last := strings.Index(msg, "'"), strings.LastIndex(msg, "'")
	switch {
	case first < 0:
		return msg
	case first == last:
		return msg[:first] + "'" + audit.Digest(msg[first+1:])
	}
	return msg[:first] + "'" + audit.Digest(msg[first+1:last]) + msg[last:]
}

// compile runs varnishd -C on file. A failure is an error at the line
// varnishd names; the message is kept, but neither the source lines it
// quotes nor what it quotes of them in the message, which may hold a
// credential.
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
	ctx, cancel := context.WithTimeout(context.Background(), CompileTimeout)
	defer cancel()
	// -j none: as root, varnishd would otherwise compile as an
	// unprivileged user who cannot write the working directory.
	cmd := exec.CommandContext(ctx, Varnishd, "-j", "none", "-n", dir,
		"-p", "vcl_path="+filepath.Dir(abs)+":/usr/share/varnish/vcl:/etc/varnish", "-C", "-f", abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A child that keeps stderr open must not hold the audit past the
	// timeout.
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	switch {
	case err == nil:
		return
	case ctx.Err() != nil:
		cfg.Skip(file, 0, "varnishd -C did not finish within %s, so whether the file compiles is not known: its audit is incomplete", CompileTimeout)
		return
	}
	msg, at, line := vccMessage(stderr.String())
	// varnishd names the file as it opened it, by absolute path: one
	// beside the file given is named as the file given is.
	switch rel, err := filepath.Rel(filepath.Dir(abs), at); {
	case at == "":
		at = file
	case err == nil && audit.Within(filepath.Dir(abs), at):
		at = filepath.Join(filepath.Dir(file), rel)
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
	for _, l := range strings.Split(rest, "\n") {
		if m := vccLine.FindStringSubmatch(l); m != nil {
			file = m[1]
			line, _ = strconv.Atoi(m[2])
			break
		}
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	msg = hideQuoted(strings.Join(lines, " "))
	if audit.LooksSecret(msg) {
		msg = "VCL compilation failed (the message quotes what may be a credential)"
	}
	return msg, file, line
}
