package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cachefence/cachefence/audit/vcl"
)

// varnishServer runs a VCL file, and the files it includes, in a throw-away
// varnishd whose every backend is the synthetic origin.
type varnishServer struct {
	file string
}

func (v varnishServer) name() string { return "varnish" }

// program is the binary and the Debian package that installs it.
func (v varnishServer) program() (string, string) { return "varnishd", "varnish" }

func (v varnishServer) start(ctx context.Context, bin, dir, originAddr string) (*server, []string, error) {
	host, port, _ := strings.Cut(originAddr, ":")
	p := &vclProgram{dir: filepath.Join(dir, "vcl"), root: filepath.Dir(v.file), host: host, port: port, written: map[string]string{}}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, nil, err
	}
	main, err := p.write(v.file, 0)
	if err != nil {
		return nil, nil, err
	}
	s, err := launch(ctx, "varnishd", func(port int) ([]string, error) {
		return []string{bin,
			"-F",         // foreground: this process owns it
			"-j", "none", // no privilege separation: the work directory is ours
			"-n", filepath.Join(dir, "varnish-"+strconv.Itoa(port)),
			"-a", "127.0.0.1:" + strconv.Itoa(port),
			"-T", "127.0.0.1:0", // the management port; its default also listens on ::1
			"-f", main,
			"-s", "malloc,64m",
			// Not the system's /etc/varnish: only the VCL Varnish ships.
			"-p", "vcl_path=" + varnishVCLDir,
		}, nil
	})
	if err != nil {
		return nil, nil, startError(err, s, func(out string) string {
			// The copies keep their originals' lines: name the originals.
			out = hideVCLSource(out)
			for original, copied := range p.written {
				out = strings.ReplaceAll(out, copied, original)
			}
			return out
		})
	}
	return s, p.notes, nil
}

// vclProgram copies a VCL file and its includes into dir, each with its
// backends pointed at the origin and its includes at the copies.
type vclProgram struct {
	dir, root  string
	host, port string
	written    map[string]string // original path → copy
	notes      []string
}

// varnishVCLDir is where Debian's varnish package puts the VCL it ships
// (devicedetect.vcl), the default vcl_path's second directory.
const varnishVCLDir = "/usr/share/varnish/vcl"

// maxIncludeDepth bounds include chains, as a cycle would be endless.
const maxIncludeDepth = 20

func (p *vclProgram) write(file string, depth int) (string, error) {
	if depth > maxIncludeDepth {
		return "", fmt.Errorf("%s: includes nested deeper than %d", file, maxIncludeDepth)
	}
	if copied, ok := p.written[file]; ok {
		return copied, nil
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	copied := filepath.Join(p.dir, fmt.Sprintf("%d-%s", len(p.written), filepath.Base(file)))
	p.written[file] = copied
	out, err := p.pointBackends(file, src)
	if err != nil {
		return "", err
	}
	f, err := vcl.Parse(out)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	lines := strings.SplitAfter(string(out), "\n")
	for _, inc := range f.Includes {
		found := p.find(file, inc.Path)
		if found == "" && filepath.IsAbs(inc.Path) {
			return "", fmt.Errorf("%s:%d: include %q is not beside the configuration: copy it there (its backends would be the system's)", file, inc.Line, inc.Path)
		}
		if found == "" {
			// Left as written, for varnishd to find in vcl_path: only
			// the VCL Varnish ships (devicedetect.vcl).
			p.notes = append(p.notes, fmt.Sprintf("%s:%d: include %q is not beside the configuration; left to Varnish's own VCL", file, inc.Line, inc.Path))
			continue
		}
		inner, err := p.write(found, depth+1)
		if err != nil {
			return "", err
		}
		if i := inc.Line - 1; i < len(lines) {
			lines[i] = strings.Replace(lines[i], strconv.Quote(inc.Path), strconv.Quote(inner), 1)
		}
	}
	return copied, os.WriteFile(copied, []byte(strings.Join(lines, "")), 0o600)
}

// find returns the file an include names: relative to the including
// file, or to the configuration's directory; an absolute one by its
// trailing path under that directory, as the static audit looks for it.
func (p *vclProgram) find(from, name string) string {
	var candidates []string
	if filepath.IsAbs(name) {
		parts := strings.Split(filepath.ToSlash(name), "/")
		for i := 1; i < len(parts); i++ {
			candidates = append(candidates, filepath.Join(p.root, filepath.Join(parts[i:]...)))
		}
	} else {
		candidates = append(candidates, filepath.Join(filepath.Dir(from), name), filepath.Join(p.root, name))
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// pointBackends returns src with every backend's .host and .port those
// of the origin.
func (p *vclProgram) pointBackends(file string, src []byte) ([]byte, error) {
	backends, err := vcl.Backends(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	type edit struct {
		span vcl.Span
		text string
	}
	var edits []edit
	for _, b := range backends {
		if b.Path != (vcl.Span{}) {
			return nil, fmt.Errorf("%s:%d: backend %s is a Unix socket (.path); --run points backends at a TCP origin", file, b.Line, b.Name)
		}
		var missing string
		for _, f := range []struct {
			span        vcl.Span
			field, text string
		}{{b.Host, ".host", strconv.Quote(p.host)}, {b.Port, ".port", strconv.Quote(p.port)}} {
			if f.span == (vcl.Span{}) {
				missing += " " + f.field + " = " + f.text + ";"
			} else {
				edits = append(edits, edit{f.span, f.text})
			}
		}
		if missing != "" {
			edits = append(edits, edit{vcl.Span{Start: b.Open, End: b.Open}, missing})
		}
	}
	slices.SortFunc(edits, func(a, b edit) int { return b.span.Start - a.span.Start })
	out := bytes.Clone(src)
	for _, e := range edits {
		out = slices.Concat(out[:e.span.Start], []byte(e.text), out[e.span.End:])
	}
	return out, nil
}

// hideVCLSource drops, from varnishd's messages, the lines of VCL that
// the compiler quotes after naming a position: the file may hold a
// credential in a string.
func hideVCLSource(out string) string {
	var b strings.Builder
	quoting := false
	for line := range strings.Lines(out) {
		switch {
		case strings.Contains(line, " Line ") && strings.Contains(line, " Pos "):
			b.WriteString(line)
			quoting = true
		case quoting && strings.TrimSpace(line) == "":
			quoting = false
			b.WriteString(line)
		case !quoting:
			b.WriteString(line)
		}
	}
	return b.String()
}
