// Package fastly turns a Fastly service into the audit's model: its
// custom VCL, or the boilerplate VCL Fastly generates, with the cache
// settings, request settings and snippets put where Fastly puts them (the
// #FASTLY macros). It reads VCL files, the API's service version JSON
// (GET /service/{id}/details, or /version/{v}/cache_settings), and the same
// structures as Terraform writes them.
package fastly

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/tree"
	"github.com/cachefence/cachefence/audit/vcl"
)

// Kind is the name of this format for --kind.
const Kind = "fastly"

// boilerplate is the VCL Fastly recommends for services, from its
// February 2022 custom VCL template (gist jwieringa/da49080d...): the
// only place private, no-store and Set-Cookie are checked.
const boilerplate = `
sub vcl_recv {
#FASTLY recv
  if (req.method != "HEAD" && req.method != "GET" && req.method != "FASTLYPURGE") {
    return(pass);
  }
  return(lookup);
}

sub vcl_fetch {
#FASTLY fetch
  if ((beresp.status == 500 || beresp.status == 503) && req.restarts < 1 && (req.method == "GET" || req.method == "HEAD")) {
    restart;
  }
  if (beresp.http.Set-Cookie) {
    return(pass);
  }
  if (beresp.http.Cache-Control ~ "(?:private|no-store)") {
    return(pass);
  }
  return(deliver);
}
`

// DetectVCL says whether a VCL file is Fastly's: it has no Varnish "vcl
// 4" declaration, and it has #FASTLY macros or Fastly's variables, or
// includes a file beside it that has them (a main VCL made only of
// includes, as Fastly's boilerplate split in two is used).
func DetectVCL(path string, data []byte) bool {
	if filepath.Ext(path) != ".vcl" || bytes.HasPrefix(bytes.TrimSpace(data), []byte("vcl 4")) {
		return false
	}
	if fastlyMarks(data) {
		return true
	}
	for _, m := range includeName.FindAllSubmatch(data, maxDetectIncludes) {
		name := string(m[1])
		if !filepath.IsLocal(name) {
			continue
		}
		for _, p := range []string{name, name + ".vcl"} {
			p = filepath.Join(filepath.Dir(path), p)
			// Only a regular file, and only its start: a FIFO would hang.
			if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() {
				continue
			}
			if f, err := os.Open(p); err == nil {
				head, _ := io.ReadAll(io.LimitReader(f, 1<<20))
				f.Close()
				if !bytes.HasPrefix(bytes.TrimSpace(head), []byte("vcl 4")) && fastlyMarks(head) {
					return true
				}
			}
		}
	}
	return false
}

// includeName finds the names of VCL includes.
var includeName = regexp.MustCompile(`(?m)^\s*include\s+"([^"\n]+)"`)

// maxDetectIncludes bounds the files DetectVCL opens.
const maxDetectIncludes = 20

func fastlyMarks(data []byte) bool {
	return bytes.Contains(data, []byte("#FASTLY")) || bytes.Contains(data, []byte("fastly.")) ||
		bytes.Contains(data, []byte("req.request"))
}

// Detect says whether a JSON document is a Fastly service version or its
// cache settings.
func Detect(root *tree.Node) bool {
	if version(root) != nil {
		return true
	}
	items := root.List()
	return root.Kind == tree.Array && len(items) > 0 && items[0].Get("cache_condition") != nil
}

// version finds the service version object in API output.
func version(root *tree.Node) *tree.Node {
	for _, v := range []*tree.Node{root.Get("active_version"), root.Get("version"), root} {
		if v != nil && v.Kind == tree.Object && (v.Get("cache_settings") != nil || v.Get("vcls") != nil ||
			v.Get("snippets") != nil || v.Get("request_settings") != nil) {
			return v
		}
	}
	return nil
}

// Read reads Fastly VCL and JSON files. A VCL file included by another
// one is audited as part of it, the program they make together.
func Read(files []audit.File) *audit.Config {
	cfg := &audit.Config{}
	var vcls []audit.File
	for _, f := range files {
		if filepath.Ext(f.Path) == ".vcl" {
			vcls = append(vcls, f)
			continue
		}
		root := tree.Read(cfg, f)
		if root == nil {
			continue
		}
		v := version(root)
		if v == nil {
			// A bare list of cache settings.
			v = &tree.Node{Kind: tree.Object, Members: []*tree.Node{{Kind: tree.Array, Key: "cache_settings", Items: root.List(), Path: root.Path}}}
		}
		cfg.Add(Service(f.Path, v))
	}
	readVCL(cfg, vcls)
	return cfg
}

// readVCL audits VCL files, following their includes. Fastly names an
// include by the name of another VCL of the service: here, a file of that
// name, or that name with .vcl, beside the file that includes it.
func readVCL(cfg *audit.Config, files []audit.File) {
	fs := vcl.NewFiles(cfg, files, nil)
	load := func(from string, inc vcl.Include) (string, *vcl.File, bool) {
		dir := filepath.Dir(from)
		if name, f, ok := fs.Find(filepath.Join(dir, inc.Path), filepath.Join(dir, inc.Path+".vcl")); name != "" {
			return name, f, ok
		}
		skipInclude(cfg, from, inc)
		return "", nil, false
	}
	skip := func(from string, inc vcl.Include) { skipInclude(cfg, from, inc) }
	programs := map[string]*vcl.File{}
	included := map[string]bool{}
	for _, f := range files {
		parsed := fs.Given(f.Path)
		if parsed == nil {
			continue
		}
		fs.Root = filepath.Dir(filepath.Clean(f.Path))
		program, keys := vcl.Program(filepath.Clean(f.Path), parsed, load, skip)
		programs[f.Path] = program
		for _, k := range keys {
			included[k] = true
		}
	}
	for _, f := range files {
		if p := programs[f.Path]; p != nil && !included[filepath.Clean(f.Path)] {
			cfg.Settings = append(cfg.Settings, vcl.Flatten(f.Path, p)...)
			cfg.Scopes = append(cfg.Scopes, vcl.Scopes(f.Path, p, vcl.Fastly)...)
		}
	}
}

func skipInclude(cfg *audit.Config, from string, inc vcl.Include) {
	cfg.Skip(from, inc.Line, "include %q: no VCL of that name here, or included again, so not audited", inc.Path)
}

// list returns the items of the first of names that v has: the API
// writes "cache_settings", Terraform "cache_setting".
func list(v *tree.Node, names ...string) []*tree.Node {
	for _, n := range names {
		if l := v.Get(n); l != nil {
			return l.List()
		}
	}
	return nil
}

// Service returns the scopes of one service version.
func Service(file string, v *tree.Node) *audit.Config {
	cfg := &audit.Config{}
	var main *vcl.File
	vcls := list(v, "vcls", "vcl")
	for _, c := range vcls {
		if !c.Get("main").IsTrue() {
			continue
		}
		content := c.Get("content")
		if content == nil || content.Kind == tree.Unknown {
			// The VCL is elsewhere (a file() in Terraform): what it does
			// is unknown, so it may cache private responses.
			set := &audit.Setting{File: file, Line: c.Line, Name: "vcl.content", Value: content.Str(), Unknown: true}
			cfg.Scopes = append(cfg.Scopes, audit.Scope{Vendor: audit.Fastly, File: file, Line: c.Line,
				Name: "custom VCL " + c.Get("name").Str(), Store: set})
			cfg.Skip(file, c.Line, "custom VCL %q given by reference: audit its .vcl file as well", c.Get("name").Str())
			return cfg
		}
		if main = vclAt(cfg, file, content); main == nil {
			return cfg
		}
		main, _ = vcl.Program(c.Get("name").Str(), main, includer(cfg, file, vcls), func(_ string, inc vcl.Include) {
			cfg.Skip(file, inc.Line, "include %q: included again, so not audited", inc.Path)
		})
	}
	if main == nil {
		main, _ = vcl.Parse([]byte(boilerplate))
		relocate(main.Subs, v.Line)
	}
	conditions := map[string]string{}
	for _, c := range list(v, "conditions", "condition") {
		conditions[c.Get("name").Str()] = c.Get("statement").Str()
	}
	generated := map[string][]*vcl.Stmt{}
	for _, cs := range list(v, "cache_settings", "cache_setting") {
		generated["fetch"] = append(generated["fetch"], cacheSetting(cs, conditions))
	}
	for _, rs := range list(v, "request_settings", "request_setting") {
		if st := requestSetting(rs, conditions); st != nil {
			generated["recv"] = append(generated["recv"], st)
		}
	}
	for _, sn := range list(v, "snippets", "snippet") {
		kind := sn.Get("type").Str()
		body := vcl.ReadAt(cfg, file, sn.Line, []byte("sub snippet {\n"+sn.Get("content").Str()+"\n}"))
		if body == nil || len(body.Subs) == 0 {
			continue
		}
		relocate(body.Subs, sn.Line)
		generated[kind] = append(generated[kind], body.Subs[0].Body...)
	}
	for _, sub := range main.Subs {
		sub.Body = expand(sub.Body, generated)
	}
	cfg.Scopes = append(cfg.Scopes, vcl.Scopes(file, main, vcl.Fastly)...)
	return cfg
}

// vclAt parses the VCL a JSON or Terraform string holds, and puts it at
// the string's line.
func vclAt(cfg *audit.Config, file string, content *tree.Node) *vcl.File {
	f := vcl.ReadAt(cfg, file, content.Line, []byte(content.Str()))
	if f != nil {
		relocate(f.Subs, content.Line)
		for i := range f.Includes {
			f.Includes[i].Line = content.Line
		}
	}
	return f
}

// includer finds the VCL an include names among the service's VCLs, by
// name (with or without .vcl, as Terraform modules name them after their
// files).
func includer(cfg *audit.Config, file string, vcls []*tree.Node) vcl.Loader {
	return func(_ string, inc vcl.Include) (string, *vcl.File, bool) {
		for _, c := range vcls {
			name := c.Get("name").Str()
			if name != inc.Path && strings.TrimSuffix(name, ".vcl") != inc.Path {
				continue
			}
			content := c.Get("content")
			if content == nil || content.Kind == tree.Unknown {
				cfg.Skip(file, c.Line, "VCL %q given by reference: audit its .vcl file as well", name)
				return name, nil, false
			}
			f := vclAt(cfg, file, content)
			return name, f, f != nil
		}
		cfg.Skip(file, inc.Line, "include %q: the service has no VCL of that name, so it is not audited", inc.Path)
		return "", nil, false
	}
}

// relocate puts VCL that a JSON string or the boilerplate holds at line:
// its own lines are not the file's.
func relocate(subs []*vcl.Sub, line int) {
	var walk func([]*vcl.Stmt)
	walk = func(body []*vcl.Stmt) {
		for _, st := range body {
			st.Line = line
			for i := range st.Branches {
				st.Branches[i].Line = line
				walk(st.Branches[i].Body)
			}
		}
	}
	for _, s := range subs {
		s.Line = line
		walk(s.Body)
	}
}

// expand replaces #FASTLY macros by the generated statements.
func expand(body []*vcl.Stmt, generated map[string][]*vcl.Stmt) []*vcl.Stmt {
	var out []*vcl.Stmt
	for _, st := range body {
		if st.Kind == vcl.Macro {
			out = append(out, generated[st.Target]...)
			continue
		}
		for i := range st.Branches {
			st.Branches[i].Body = expand(st.Branches[i].Body, generated)
		}
		out = append(out, st)
	}
	return out
}

// cacheSetting is the VCL Fastly generates for a cache setting: under its
// condition, set the TTL and end vcl_fetch with its action.
func cacheSetting(cs *tree.Node, conditions map[string]string) *vcl.Stmt {
	var body []*vcl.Stmt
	if ttl, ok := cs.Get("ttl").Int(); ok && ttl > 0 {
		body = append(body, &vcl.Stmt{Kind: vcl.Set, Line: cs.Line, Target: "beresp.ttl", Value: fmt.Sprintf("%ds", ttl)})
	}
	switch action := strings.ToLower(cs.Get("action").Str()); action {
	case "cache":
		body = append(body, &vcl.Stmt{Kind: vcl.Return, Line: cs.Line, Target: "deliver"})
	case "pass":
		body = append(body, &vcl.Stmt{Kind: vcl.Return, Line: cs.Line, Target: "pass"})
	}
	return conditional(cs, cs.Get("cache_condition").Str(), conditions, body)
}

// requestSetting is the VCL for a request setting whose action decides
// the lookup.
func requestSetting(rs *tree.Node, conditions map[string]string) *vcl.Stmt {
	action := strings.ToLower(rs.Get("action").Str())
	if action != "lookup" && action != "pass" {
		return nil
	}
	ret := &vcl.Stmt{Kind: vcl.Return, Line: rs.Line, Target: action}
	return conditional(rs, rs.Get("request_condition").Str(), conditions, []*vcl.Stmt{ret})
}

func conditional(n *tree.Node, condition string, conditions map[string]string, body []*vcl.Stmt) *vcl.Stmt {
	cond := "true"
	if condition != "" {
		cond = conditions[condition]
		if cond == "" {
			cond = "condition " + condition
		}
	}
	return &vcl.Stmt{Kind: vcl.If, Line: n.Line, Branches: []vcl.Branch{{Cond: cond, Line: n.Line, Body: body}}}
}
