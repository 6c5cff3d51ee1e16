// Package nginx turns an nginx configuration, with its includes, into the
// audit's model: one scope per location that proxies (proxy_pass,
// fastcgi_pass, uwsgi_pass, scgi_pass) through a cache. The Lua of
// OpenResty's *_by_lua_block directives is passed over and said to be
// skipped; files, directives and includes are bounded (MaxFileSize,
// MaxDirectives) so that no input exhausts memory.
package nginx

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// Kind is the name of this format for --kind.
const Kind = "nginx"

// Detect says whether a file is an nginx configuration, by name or by the
// blocks it opens.
func Detect(path string, data []byte) bool {
	base := filepath.Base(path)
	if base == "nginx.conf" {
		return true
	}
	for _, marker := range []string{"server {", "http {", "location ", "proxy_pass ", "proxy_cache "} {
		if bytes.Contains(data, []byte(marker)) {
			return true
		}
	}
	return false
}

// maxIncludes bounds the files one configuration may pull in, and
// maxIncludeBytes the bytes it may read through includes: with
// MaxDirectives on what the includes expand to, a fan-out of includes
// that pull each other in many times cannot exhaust memory.
const (
	maxIncludes     = 1000
	maxIncludeBytes = 64 << 20
)

// Read reads nginx configuration files and the files they include. A file
// included by another one given is audited as part of it, not alone.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	shared := &includes{parsed: map[string][]*Directive{}, globs: map[string][]string{}, checked: map[string]check{}, budget: MaxDirectives}
	for _, f := range files {
		ds, err := Parse(f.Path, f.Data)
		if err != nil {
			failParse(cfg, f.Path, err)
			continue
		}
		shared.parsed[filepath.Clean(f.Path)] = ds
	}
	for _, f := range files {
		shared.dirs = append(shared.dirs, filepath.Dir(filepath.Clean(f.Path)))
	}
	given := maps.Clone(shared.parsed)
	// includedBy[f] are the given files f's expansion pulls in.
	includedBy := map[string]map[string]bool{}
	expanded := map[string][]*Directive{}
	for _, f := range files {
		name := filepath.Clean(f.Path)
		if ds, ok := given[name]; ok {
			r := &resolver{includes: shared, cfg: cfg, root: filepath.Dir(name), seen: map[string]bool{}, active: map[string]bool{name: true}}
			expanded[name] = r.expand(ds, 0)
			includedBy[name] = r.seen
		}
	}
	// A given file another given file includes is audited as part of it;
	// of files that include each other, the first given is walked.
	walked := map[string]bool{}
	for _, f := range files {
		name := filepath.Clean(f.Path)
		ds, ok := expanded[name]
		if !ok || walked[name] || includedByOther(name, includedBy, walked) {
			continue
		}
		walked[name] = true
		for inc := range includedBy[name] {
			walked[inc] = true
		}
		auditTree(ds, cfg)
	}
	return cfg
}

// auditTree adds the settings and the scopes of an expanded file to cfg.
func auditTree(ds []*Directive, cfg *audit.Config) {
	// One setting a directive, at most: grown once, not by doubling.
	cfg.Settings = slices.Grow(cfg.Settings, countDirectives(ds))
	flatten(ds, "", "", cfg)
	walk(ds, (*context)(nil).with(ds), cfg)
}

// includedByOther reports a given file that another given file, not yet
// walked and not included by it in turn, pulls in: that one will audit it.
func includedByOther(name string, includedBy map[string]map[string]bool, walked map[string]bool) bool {
	for other, seen := range includedBy {
		if other != name && seen[name] && !walked[other] && !includedBy[name][other] {
			return true
		}
	}
	return false
}

func failParse(cfg *audit.Config, file string, err error) {
	if se, ok := err.(*SyntaxError); ok {
		cfg.Fail(file, se.Line, fmt.Errorf("%s", se.Msg))
		return
	}
	cfg.Fail(file, 0, err)
}

// includes is what the resolvers of one Read share: the files parsed so
// far, each parsed once however often it is included, and what is left of
// the budgets.
type includes struct {
	// dirs are the directories of the files given: an include is read
	// only inside them.
	dirs   []string
	parsed map[string][]*Directive
	// globs and checked remember what each include pattern matched and
	// whether each file may be read (its size, or why not).
	globs   map[string][]string
	checked map[string]check
	// budget is how many more directives the expansions may hold; read
	// is how many bytes includes have read.
	budget int
	read   int64
}

// resolver replaces include directives by the directives of the files
// they name, relative to the including file, then to the main file's
// directory, as nginx resolves them against its prefix.
type resolver struct {
	*includes
	cfg  *audit.Config
	root string
	// seen are the files included so far; active those being expanded,
	// to stop include cycles.
	seen, active map[string]bool
}

// expand returns ds with its includes replaced. A block without includes
// is shared with ds, not copied; each directive the result holds counts
// against the budget, so that includes that pull one file in many times
// cannot grow it past MaxDirectives.
func (r *resolver) expand(ds []*Directive, depth int) []*Directive {
	if !hasInclude(ds) {
		r.budget -= countDirectives(ds)
		return ds
	}
	out := make([]*Directive, 0, len(ds))
	for _, d := range ds {
		if d.Name != "include" || len(d.Args) != 1 {
			r.budget--
			if d.HasBlock {
				c := *d
				c.Block = r.expand(d.Block, depth)
				d = &c
			}
			out = append(out, d)
			continue
		}
		names := r.glob(d)
		if len(names) == 0 {
			r.cfg.Skip(d.File, d.Line, "include %s: no such file here, so its directives were not audited", d.Args[0])
		}
		for _, name := range names {
			inner, why := r.load(name, depth)
			if why != "" {
				r.cfg.Skip(d.File, d.Line, "include %s: %s", name, why)
				continue
			}
			if inner == nil {
				continue // a read or parse error, recorded
			}
			r.active[name] = true
			out = append(out, r.expand(inner, depth+1)...)
			delete(r.active, name)
		}
	}
	return out
}

// load returns the directives of an included file, or why it is not read.
func (r *resolver) load(name string, depth int) ([]*Directive, string) {
	switch {
	case r.active[name] || depth > maxDepth:
		return nil, "an include cycle, so it was not read again"
	case len(r.seen) >= maxIncludes && !r.seen[name]:
		return nil, "more than " + strconv.Itoa(maxIncludes) + " files included, so it was not read"
	case r.budget <= 0:
		return nil, "the configuration expands to more than " + strconv.Itoa(MaxDirectives) + " directives, so it was not read"
	}
	c, ok := r.checked[name]
	if !ok {
		c.size, c.why = r.outside(name)
		r.checked[name] = c
	}
	size, why := c.size, c.why
	if why != "" {
		return nil, why + ", so it was not read"
	}
	r.seen[name] = true
	if ds, ok := r.parsed[name]; ok {
		return ds, ""
	}
	if r.read += size; r.read > maxIncludeBytes {
		return nil, "includes read more than " + strconv.Itoa(maxIncludeBytes>>20) + " MiB, so it was not read"
	}
	data, err := readAtMost(name, size)
	if err != nil {
		r.cfg.Fail(name, 0, err)
		return nil, ""
	}
	ds, err := Parse(name, data)
	if err != nil {
		failParse(r.cfg, name, err)
		return nil, ""
	}
	r.parsed[name] = ds
	return ds, ""
}

// check is whether a file may be read: its size, or why not.
type check struct {
	size int64
	why  string
}

// readAtMost reads a file that stat said holds size bytes, and no more if
// it has grown since.
func readAtMost(name string, size int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, size))
}

func hasInclude(ds []*Directive) bool {
	for _, d := range ds {
		if d.Name == "include" || hasInclude(d.Block) {
			return true
		}
	}
	return false
}

// countDirectives returns the number of directives in ds and their blocks.
func countDirectives(ds []*Directive) int {
	n := len(ds)
	for _, d := range ds {
		n += countDirectives(d.Block)
	}
	return n
}

func (r *resolver) glob(d *Directive) []string {
	pattern := d.Args[0]
	candidates := []string{filepath.Join(filepath.Dir(d.File), pattern), filepath.Join(r.root, pattern)}
	if filepath.IsAbs(pattern) {
		// A checked-out configuration names its deployed paths
		// (/etc/nginx/conf.d/x.conf): look for their tails beside it.
		// A glob keeps its directory (conf.d/*.conf, never *.conf,
		// which would match the configuration itself when conf.d is
		// not in the copy). The deployed path itself is never read: on
		// this machine it is another configuration, or a secret.
		candidates = nil
		parts := strings.Split(strings.TrimPrefix(filepath.ToSlash(pattern), "/"), "/")
		last := len(parts) - 1
		if strings.ContainsAny(parts[last], "*?[") && last > 0 {
			last--
		}
		for i := 0; i <= last; i++ {
			tail := filepath.Join(parts[i:]...)
			candidates = append(candidates, filepath.Join(filepath.Dir(d.File), tail), filepath.Join(r.root, tail))
		}
	}
	for _, c := range candidates {
		names, ok := r.globs[c]
		if !ok {
			// Once a pattern: a file included many times is not looked
			// for again.
			names, _ = filepath.Glob(c)
			for i := range names {
				names[i] = filepath.Clean(names[i])
			}
			slices.Sort(names)
			r.globs[c] = names
		}
		if len(names) > 0 {
			return names
		}
	}
	return nil
}

// outside returns the size of name, or why the audit will not read it: a
// file outside the directories of the files given (../, a symlink out of
// them), or anything but a regular file (/dev/zero, a FIFO).
func (r *resolver) outside(name string) (int64, string) {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return 0, "it cannot be resolved"
	}
	if !slices.ContainsFunc(r.dirs, func(dir string) bool { return audit.ResolvesWithin(dir, real) }) {
		return 0, "it lies outside the directories of the files given"
	}
	info, err := os.Stat(real)
	if err != nil || !info.Mode().IsRegular() {
		return 0, "it is not a regular file"
	}
	return info.Size(), ""
}

// context is one level of the configuration (http, server, location)
// and the levels around it. The innermost level that sets a directive
// wins, as nginx merges these; each level holds only its own directives,
// so that walking a file costs time and memory linear in its size.
type context struct {
	parent *context
	server string
	set    map[string]*Directive
	hidden map[string]*Directive // proxy_hide_header and the like, by header
	// vars are the set directives of the level, inside if blocks too,
	// and maps the map blocks, by the variable they define: what a
	// *_no_cache variable is made of.
	vars map[string][]assignment
	maps map[string]*Directive
}

// assignment is a set directive, under the condition of the if block
// that holds it, if any.
type assignment struct {
	set  *Directive
	cond *Directive
}

func (c *context) with(block []*Directive) *context {
	next := &context{parent: c, set: map[string]*Directive{}}
	if c != nil {
		next.server, next.hidden = c.server, c.hidden
	}
	var hidden map[string]*Directive
	for _, d := range block {
		switch {
		case strings.HasSuffix(d.Name, "_hide_header") && len(d.Args) > 0:
			// A level that hides any header replaces the inherited list.
			if hidden == nil {
				hidden = map[string]*Directive{}
			}
			hidden[strings.ToLower(d.Name+" "+d.Args[0])] = d
		case d.Name == "server_name" && len(d.Args) > 0:
			next.server = d.Args[0]
		case d.Name == "set" && len(d.Args) == 2:
			next.assign(d, nil)
		case d.Name == "if":
			for _, in := range d.Block {
				if in.Name == "set" && len(in.Args) == 2 {
					next.assign(in, d)
				}
			}
		case d.Name == "map" && len(d.Args) == 2:
			if next.maps == nil {
				next.maps = map[string]*Directive{}
			}
			next.maps[d.Args[1]] = d
		case !d.HasBlock:
			next.set[d.Name] = d
		}
	}
	if hidden != nil {
		next.hidden = hidden
	}
	return next
}

func (c *context) assign(set, cond *Directive) {
	if c.vars == nil {
		c.vars = map[string][]assignment{}
	}
	c.vars[set.Args[0]] = append(c.vars[set.Args[0]], assignment{set, cond})
}

// get returns the directive name in force here. proxy_pass and its kin
// are not inherited: a nested location proxies only if it says so.
func (c *context) get(name string) *Directive {
	for ; c != nil; c = c.parent {
		if d := c.set[name]; d != nil {
			return d
		}
		if strings.HasSuffix(name, "_pass") {
			return nil
		}
	}
	return nil
}

// modules are the proxying modules whose caches work alike.
var modules = []string{"proxy", "fastcgi", "uwsgi", "scgi"}

// walk finds the caching locations of ds, whose level ctx is.
func walk(ds []*Directive, ctx *context, cfg *audit.Config) {
	for _, d := range ds {
		switch d.Name {
		case "http", "server":
			walk(d.Block, ctx.with(d.Block), cfg)
		case "location":
			inner := ctx.with(d.Block)
			for _, m := range modules {
				if inner.get(m+"_pass") != nil {
					if s, ok := scope(d, m, inner, cfg); ok {
						cfg.Scopes = append(cfg.Scopes, s)
					}
				}
			}
			walk(d.Block, inner, cfg)
		case "if":
			for _, in := range d.Block {
				if strings.Contains(in.Name, "_cache") || strings.Contains(in.Name, "_ignore_headers") {
					cfg.Skip(in.File, in.Line, "%s inside if: conditional caching is not audited", in.Name)
				}
			}
		}
	}
}

func argsOf(d *Directive) string {
	if d == nil {
		return ""
	}
	return strings.ToLower(strings.Join(d.Args, " "))
}

func setting(d *Directive) *audit.Setting {
	return &audit.Setting{File: d.File, Line: d.Line, Name: d.Name, Value: strings.Join(d.Args, " ")}
}

// scope is what a caching location does with module m.
func scope(loc *Directive, m string, ctx *context, cfg *audit.Config) (audit.Scope, bool) {
	cache := ctx.get(m + "_cache")
	if cache == nil || argsOf(cache) == "off" {
		return audit.Scope{}, false // nothing is cached
	}
	pattern := strings.Join(loc.Args, " ")
	name := "location " + pattern
	if ctx.server != "" {
		name = "server " + ctx.server + " " + name
	}
	s := audit.Scope{Vendor: audit.Nginx, File: loc.File, Line: loc.Line, Name: name, Static: audit.Static(pattern)}
	if m != "proxy" {
		s.Module = m
	}
	ignore := ctx.get(m + "_ignore_headers")
	ignored := map[string]bool{}
	if ignore != nil {
		for _, h := range ignore.Args {
			ignored[strings.ToLower(h)] = true
		}
	}
	valid := ctx.get(m + "_cache_valid")
	if ignored["cache-control"] && valid != nil {
		// What proxy_cache_valid stores, private or not, only
		// X-Accel-Expires: 0 or an invalid Expires keeps out.
		s.Store = setting(ignore)
		if !ignored["x-accel-expires"] {
			s.Obeys |= audit.XAccelExpiresZero
		}
		if !ignored["expires"] {
			s.Obeys |= audit.ExpiresPast
		}
	} else if ignored["expires"] && valid != nil {
		s.TTL = setting(ignore)
	}
	if ignored["set-cookie"] {
		if ctx.hidden[m+"_hide_header set-cookie"] != nil {
			s.StripsSetCookie = setting(ignore)
		} else {
			s.ReplaysSetCookie = setting(ignore)
		}
	}
	// nginx never looks at Authorization or Cookie by itself: only
	// *_no_cache, or the key, keeps credentials apart. *_cache_bypass
	// alone does not: it fetches a fresh response, and stores it.
	noCache := ctx.get(m + "_no_cache")
	g := readGuard(noCache, ctx, cfg)
	key := argsOf(ctx.get(m + "_cache_key"))
	authKeyed := strings.Contains(key, "$http_authorization")
	cookieKeyed := strings.Contains(key, "$http_cookie")
	if !g.always && !g.auth && !authKeyed {
		s.Authorization = setting(cache)
	}
	if missed := g.missedSession(); missed != "" && !strings.Contains(key, "$cookie_") && !cookieKeyed {
		s.Unkeyed = setting(cache)
		if missed != "any" {
			// The guard is there, but lets this session into the cache:
			// point at it and say which.
			s.Unkeyed = setting(noCache)
			s.Unkeyed.Value += " (lets " + missed + " through)"
		}
	}
	s.KeyedByUser = authKeyed && cookieKeyed
	return s, true
}

// flatten adds the directives of a block, by their place in the tree, to
// the settings; a directive repeated in a block is numbered. mapped is
// the header whose values name the block's directives: those of a map on
// a header's variable.
func flatten(block []*Directive, path, mapped string, cfg *audit.Config) {
	count := map[string]int{}
	for _, d := range block {
		if d.Opaque {
			cfg.Skip(d.File, d.Line, "%s: its Lua code is not audited, and may change what is cached", d.Name)
			continue
		}
		args := shownArgs(d)
		name := d.Name
		if mapped != "" && !mapParams[d.Name] {
			name = audit.HeaderValue(d.Name, mapped)
		}
		if d.HasBlock && len(args) > 0 {
			name += " " + strings.Join(args, " ")
		}
		if d.Name == "server" {
			for _, in := range d.Block {
				if in.Name == "server_name" {
					name += " " + strings.Join(in.Args, " ")
				}
			}
		}
		if count[name]++; count[name] > 1 {
			name += "#" + strconv.Itoa(count[name])
		}
		key := name
		if path != "" {
			key = path + " > " + name
		}
		if d.HasBlock {
			inner := ""
			if d.Name == "map" && len(d.Args) > 0 {
				inner = headerVariable(d.Args[0])
			}
			flatten(d.Block, key, inner, cfg)
		} else {
			cfg.Settings = append(cfg.Settings, audit.Setting{File: d.File, Line: d.Line, Name: key, Value: strings.Join(args, " ")})
		}
	}
}

// setsHeader are the directives whose first argument names a header, or
// a parameter the application reads as one, and whose second is its value.
var setsHeader = map[string]bool{"proxy_set_header": true, "grpc_set_header": true, "add_header": true,
	"add_trailer": true, "fastcgi_param": true, "uwsgi_param": true, "scgi_param": true}

// mapParams are the directives of a map block that are not its entries.
var mapParams = map[string]bool{"default": true, "hostnames": true, "include": true, "volatile": true}

// shownArgs returns d's arguments as settings show them: a value that d
// sends as a header, or compares a header with, is hidden by
// audit.HeaderValue, so that an origin secret is never stored or printed.
func shownArgs(d *Directive) []string {
	// Only the directives that carry a header value are copied: the rest
	// are shown as parsed.
	args := d.Args
	if setsHeader[d.Name] || d.Name == "more_set_headers" || d.Name == "more_set_input_headers" || d.Name == "if" {
		args = slices.Clone(d.Args)
	}
	switch {
	case setsHeader[d.Name] && len(args) > 1:
		// fastcgi_param HTTP_HOST is the Host header.
		name := args[0]
		if strings.HasSuffix(d.Name, "_param") && strings.HasPrefix(strings.ToUpper(name), "HTTP_") {
			name = name[len("HTTP_"):]
		}
		args[1] = audit.HeaderValue(args[1], name)
	case d.Name == "more_set_headers" || d.Name == "more_set_input_headers":
		// headers-more: options, then "Name: value" arguments.
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-s", "-t":
				i++
			case "-r":
			default:
				if name, value, ok := strings.Cut(args[i], ":"); ok {
					args[i] = name + ": " + audit.HeaderValue(strings.TrimSpace(value), name)
				} else {
					args[i] = audit.HeaderValue(args[i])
				}
			}
		}
	case d.Name == "if" && len(args) > 2:
		// if ($http_x_origin_verify != "secret"): the operand after the
		// comparison, with the closing parenthesis it may hold.
		if name := headerVariable(strings.TrimPrefix(args[0], "(")); name != "" {
			operand, paren := strings.CutSuffix(args[2], ")")
			args[2] = audit.HeaderValue(operand, name)
			if paren {
				args[2] += ")"
			}
		}
	}
	return args
}

// headerVariable returns the header whose value an nginx variable holds,
// or "".
func headerVariable(v string) string {
	for _, prefix := range []string{"$http_", "$sent_http_", "$upstream_http_"} {
		if name, ok := strings.CutPrefix(v, prefix); ok {
			return name
		}
	}
	if strings.HasPrefix(v, "$cookie_") {
		return "Cookie"
	}
	return ""
}
