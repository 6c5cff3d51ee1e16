package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	nginxconf "github.com/cachefence/cachefence/audit/nginx"
)

// nginxServer runs an nginx.conf, with the files it includes, in a throw-away
// nginx: its proxying servers listen on 127.0.0.1 only, every upstream
// is the synthetic origin, and every path it writes is under a temporary
// prefix.
type nginxServer struct {
	file string
}

func (n nginxServer) name() string              { return "nginx" }
func (n nginxServer) program() (string, string) { return "nginx", "nginx" }

// hostOf returns the first plain server_name of ds, the Host the replay
// sends, so that the server that names it answers; "" when there is none.
func hostOf(ds []*nginxconf.Directive) string {
	for _, d := range walkAll(ds) {
		if d.Name != "server_name" {
			continue
		}
		for _, a := range d.Args {
			if a != "" && a != "_" && !strings.ContainsAny(a, "*~$") {
				return a
			}
		}
	}
	return ""
}

func (n nginxServer) start(ctx context.Context, bin, dir, originAddr string) (*server, []string, error) {
	c := &nginxRewrite{root: filepath.Dir(n.file), dir: dir, origin: originAddr}
	ds, err := c.flatten(filepath.Clean(n.file), 0)
	if err != nil {
		return nil, nil, err
	}
	ds, err = c.rewrite(ds)
	if err != nil {
		return nil, nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	var w *confWriter
	s, err := launch(ctx, "nginx", func(port int) ([]string, error) {
		c.port = port
		w = &confWriter{origins: map[int]string{}}
		w.write(c.withListen(ds), 0)
		if err := os.WriteFile(conf, []byte(w.b.String()), 0o600); err != nil {
			return nil, err
		}
		return []string{bin, "-p", dir, "-c", conf,
			"-e", "stderr", // before the configuration is read, nginx would open its own error log
			"-g", "daemon off;"}, nil
	})
	if err != nil {
		return nil, nil, startError(err, s, func(out string) string {
			// nginx names a line of the joined file: name the one it
			// was read from.
			return regexp.MustCompile(regexp.QuoteMeta(conf)+`:(\d+)`).ReplaceAllStringFunc(out, func(m string) string {
				n, _ := strconv.Atoi(m[len(conf)+1:])
				if where, ok := w.origins[n]; ok {
					return where
				}
				return "(a line cachefence added)"
			})
		})
	}
	return s, c.notes, nil
}

// nginxRewrite turns a user's nginx.conf into one that nginx can run as
// a throw-away: what it changes is listed in docs/audit-run.md.
type nginxRewrite struct {
	root, dir, origin string
	port              int
	files             int
	caches            int
	stack             []string // the files being included, outermost first
	notes             []string
}

func (c *nginxRewrite) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// flatten parses file and puts each include's directives in its place.
func (c *nginxRewrite) flatten(file string, depth int) ([]*nginxconf.Directive, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("%s: includes nested deeper than %d", file, maxIncludeDepth)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if c.files++; c.files > 1000 {
		return nil, errors.New("more than 1000 files included")
	}
	ds, err := nginxconf.Parse(file, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.stack = append(c.stack, file)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()
	return c.expand(file, ds, depth)
}

func (c *nginxRewrite) expand(file string, ds []*nginxconf.Directive, depth int) ([]*nginxconf.Directive, error) {
	var out []*nginxconf.Directive
	for _, d := range ds {
		if d.Opaque {
			return nil, fmt.Errorf("%s:%d: %s holds Lua, which --run does not run", d.File, d.Line, d.Name)
		}
		if d.Name == "include" && len(d.Args) == 1 {
			files := c.include(d.Args[0])
			if len(files) == 0 && !strings.ContainsAny(d.Args[0], "*?[") {
				c.note("%s:%d: include %s not found beside the configuration, left out", d.File, d.Line, d.Args[0])
			}
			for _, f := range files {
				if slices.Contains(c.stack, f) {
					c.note("%s:%d: include %s includes itself, left out", d.File, d.Line, d.Args[0])
					continue
				}
				inner, err := c.flatten(f, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, inner...)
			}
			continue
		}
		if d.HasBlock {
			block, err := c.expand(file, d.Block, depth)
			if err != nil {
				return nil, err
			}
			cp := *d
			cp.Block = block
			d = &cp
		}
		out = append(out, d)
	}
	return out, nil
}

// include returns the files an include pattern names: relative to the
// configuration's directory, as nginx reads it with -c; an absolute one
// by its trailing path under that directory, as the static audit looks
// for it. Never where an absolute one points: that is the system's own
// nginx, whose servers are not the configuration's.
func (c *nginxRewrite) include(pattern string) []string {
	var candidates []string
	if filepath.IsAbs(pattern) {
		parts := strings.Split(filepath.ToSlash(pattern), "/")
		last := len(parts) - 1
		if strings.ContainsAny(parts[last], "*?[") {
			last-- // a glob keeps its directory: conf.d/*.conf, never *.conf
		}
		for i := 1; i <= last; i++ {
			candidates = append(candidates, filepath.Join(c.root, filepath.Join(parts[i:]...)))
		}
	} else {
		candidates = append(candidates, filepath.Join(c.root, pattern))
	}
	for _, cand := range candidates {
		matches, _ := filepath.Glob(cand)
		var files []string
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
				files = append(files, m)
			}
		}
		if len(files) > 0 {
			slices.Sort(files)
			return files
		}
	}
	return nil
}

// Directives that name a file or a process that belongs to the system's
// own nginx, dropped wherever they are; the run sets its own.
var dropped = map[string]bool{
	"user": true, "pid": true, "daemon": true, "master_process": true, "error_log": true,
	"worker_processes": true, "lock_file": true, "working_directory": true,
	"client_body_temp_path": true, "proxy_temp_path": true, "fastcgi_temp_path": true,
	"uwsgi_temp_path": true, "scgi_temp_path": true, "http2": true, "http3": true, "quic_retry": true,
	"ssl": true, "ssl_stapling": true,
}

// Top-level blocks that listen on ports of their own.
var otherListeners = map[string]bool{"stream": true, "mail": true}

// proxyTwins are the FastCGI, uwsgi and SCGI directives whose proxy_
// twin does the same for an HTTP upstream, as the synthetic origin is.
var proxyTwins = map[string]bool{
	"pass": true, "cache": true, "cache_key": true, "cache_valid": true, "cache_bypass": true, "no_cache": true,
	"ignore_headers": true, "hide_header": true, "pass_header": true, "cache_lock": true, "cache_lock_timeout": true,
	"cache_lock_age": true, "cache_use_stale": true, "cache_background_update": true, "cache_min_uses": true,
	"cache_methods": true, "cache_revalidate": true, "cache_path": true, "intercept_errors": true,
	"read_timeout": true, "connect_timeout": true, "send_timeout": true, "buffering": true,
}

// rewrite returns the main context rewritten.
func (c *nginxRewrite) rewrite(ds []*nginxconf.Directive) ([]*nginxconf.Directive, error) {
	upstreams := map[string]bool{}
	for _, d := range walkAll(ds) {
		if d.Name == "upstream" && len(d.Args) > 0 {
			upstreams[d.Args[0]] = true
		}
	}
	out := []*nginxconf.Directive{
		{Name: "pid", Args: []string{filepath.Join(c.dir, "nginx.pid")}},
		{Name: "error_log", Args: []string{"stderr", "warn"}},
		{Name: "worker_processes", Args: []string{"1"}},
	}
	if os.Geteuid() == 0 {
		// A master run by root starts its workers as nobody, who could
		// not write the cache under the private prefix; as anyone else,
		// nginx ignores the line.
		out = append(out, &nginxconf.Directive{Name: "user", Args: []string{"root"}})
	}
	for _, d := range ds {
		if otherListeners[d.Name] {
			c.note("%s:%d: %s block left out: it listens on ports of its own", d.File, d.Line, d.Name)
			continue
		}
		if d.Name == "http" {
			d = c.http(d, upstreams)
		}
		if !dropped[d.Name] {
			out = append(out, d)
		}
	}
	if !slices.ContainsFunc(out, func(d *nginxconf.Directive) bool { return d.Name == "events" }) {
		out = append(out, &nginxconf.Directive{Name: "events", HasBlock: true})
	}
	servers := 0
	for _, d := range walkAll(out) {
		if d.Name == "server" && d.HasBlock {
			servers++
		}
	}
	if servers == 0 {
		return nil, errors.New("no server block passes requests to an upstream: nothing to run")
	}
	return out, nil
}

// http rewrites the http block: temporary paths under the prefix, and
// only the servers that pass requests to an upstream.
func (c *nginxRewrite) http(d *nginxconf.Directive, upstreams map[string]bool) *nginxconf.Directive {
	cp := *d
	cp.Block = nil
	for _, name := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		cp.Block = append(cp.Block, &nginxconf.Directive{Name: name + "_temp_path", Args: []string{filepath.Join(c.dir, name+"_temp")}})
	}
	for _, inner := range d.Block {
		if inner.Name == "server" && !passes(inner) {
			c.note("%s:%d: server left out: it passes nothing to an upstream", inner.File, inner.Line)
			continue
		}
		cp.Block = append(cp.Block, c.directive(inner, upstreams)...)
	}
	return &cp
}

// passes says whether a block passes some request to an upstream.
func passes(d *nginxconf.Directive) bool {
	return slices.ContainsFunc(walkAll(d.Block), func(d *nginxconf.Directive) bool {
		return strings.HasSuffix(d.Name, "_pass") && d.Name != "proxy_ssl_pass" || d.Name == "proxy_pass"
	})
}

// directive rewrites one directive of the http block, and its block.
func (c *nginxRewrite) directive(d *nginxconf.Directive, upstreams map[string]bool) []*nginxconf.Directive {
	name := d.Name
	if dropped[name] || strings.HasPrefix(name, "ssl_") || strings.HasPrefix(name, "proxy_ssl_") || name == "listen" {
		return nil
	}
	for _, prefix := range []string{"fastcgi_", "uwsgi_", "scgi_", "grpc_"} {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		if !proxyTwins[rest] {
			return nil // fastcgi_param and the like: nothing of the kind for HTTP
		}
		name = "proxy_" + rest
	}
	cp := *d
	cp.Name = name
	cp.Args = slices.Clone(d.Args)
	switch {
	case name == "access_log":
		cp.Args = []string{"off"}
	case strings.HasSuffix(name, "_cache_path") && len(cp.Args) > 0:
		c.caches++
		cp.Args[0] = filepath.Join(c.dir, "cache-"+strconv.Itoa(c.caches))
	case name == "proxy_pass" && len(cp.Args) > 0:
		cp.Args[0] = c.proxyPass(d, upstreams)
	case name == "server" && !d.HasBlock && len(cp.Args) > 0:
		// A server of an upstream block.
		cp.Args = []string{c.origin}
	}
	if d.HasBlock {
		cp.Block = nil
		for _, inner := range d.Block {
			cp.Block = append(cp.Block, c.directive(inner, upstreams)...)
		}
		if d.Name == "upstream" {
			cp.Block = oneServer(cp.Block)
		}
	}
	return []*nginxconf.Directive{&cp}
}

// oneServer keeps the first server of an upstream: they all point at the
// origin now.
func oneServer(ds []*nginxconf.Directive) []*nginxconf.Directive {
	seen := false
	return slices.DeleteFunc(ds, func(d *nginxconf.Directive) bool {
		if d.Name != "server" {
			return false
		}
		defer func() { seen = true }()
		return seen
	})
}

// proxyPass returns the proxy_pass URL aimed at the origin: an upstream
// the configuration defines stays (its servers are rewritten), any
// other host becomes the origin's, and the URI part stays.
func (c *nginxRewrite) proxyPass(d *nginxconf.Directive, upstreams map[string]bool) string {
	target := d.Args[0]
	if !strings.HasPrefix(d.Name, "proxy_") {
		// fastcgi_pass host:port and the like name no scheme.
		return "http://" + c.origin
	}
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		rest = target
	}
	host, uri := rest, ""
	if strings.HasPrefix(rest, "unix:") {
		// http://unix:/path/to.sock:/uri
		if i := strings.Index(rest[len("unix:"):], ":"); i >= 0 {
			host, uri = rest[:len("unix:")+i], rest[len("unix:")+i+1:]
		}
	} else if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, uri = rest[:i], rest[i:]
	}
	if upstreams[host] {
		return "http://" + host + uri
	}
	return "http://" + c.origin + uri
}

// withListen returns ds with each server listening on 127.0.0.1 at the
// run's port, and nowhere else.
func (c *nginxRewrite) withListen(ds []*nginxconf.Directive) []*nginxconf.Directive {
	out := make([]*nginxconf.Directive, len(ds))
	for i, d := range ds {
		cp := *d
		if d.HasBlock {
			cp.Block = c.withListen(d.Block)
		}
		if d.Name == "server" && d.HasBlock {
			listen := &nginxconf.Directive{Name: "listen", Args: []string{"127.0.0.1:" + strconv.Itoa(c.port)}}
			cp.Block = append([]*nginxconf.Directive{listen}, cp.Block...)
		}
		out[i] = &cp
	}
	return out
}

// walkAll returns every directive of ds and their blocks, in order.
func walkAll(ds []*nginxconf.Directive) []*nginxconf.Directive {
	var out []*nginxconf.Directive
	for _, d := range ds {
		out = append(out, d)
		out = append(out, walkAll(d.Block)...)
	}
	return out
}

// confWriter writes directives as nginx configuration, and records the
// file and line each written line was read from.
type confWriter struct {
	b       strings.Builder
	line    int // lines written
	origins map[int]string
}

func (w *confWriter) write(ds []*nginxconf.Directive, depth int) {
	indent := strings.Repeat("\t", depth)
	for _, d := range ds {
		if d.File != "" {
			w.origins[w.line+1] = d.File + ":" + strconv.Itoa(d.Line)
		}
		text := indent + d.Name
		for _, a := range d.Args {
			text += " " + quoteArg(a)
		}
		if !d.HasBlock {
			w.text(text + ";\n")
			continue
		}
		w.text(text + " {\n")
		w.write(d.Block, depth+1)
		w.text(indent + "}\n")
	}
}

func (w *confWriter) text(s string) {
	w.b.WriteString(s)
	w.line += strings.Count(s, "\n")
}

// quoteArg writes an argument as nginx reads it back: as it is when it
// holds nothing the lexer splits on, else in double quotes.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\r\n;{}\"'#\\") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		ch := a[i]
		// A backslash stays one unless nginx would read it as escaping
		// what follows.
		if ch == '"' || ch == '\\' && (i+1 == len(a) || a[i+1] == '"' || a[i+1] == '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(ch)
	}
	b.WriteByte('"')
	return b.String()
}
