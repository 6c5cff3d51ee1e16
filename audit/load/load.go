// Package load finds the configuration files under the paths given,
// tells each file's kind from its name and content, and has the package
// of that kind read it into the audit's model.
package load

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
	"github.com/cachefence/cachefence/audit/akamai"
	"github.com/cachefence/cachefence/audit/cloudflare"
	"github.com/cachefence/cachefence/audit/cloudfront"
	"github.com/cachefence/cachefence/audit/fastly"
	"github.com/cachefence/cachefence/audit/gcp"
	"github.com/cachefence/cachefence/audit/nginx"
	"github.com/cachefence/cachefence/audit/terraform"
	"github.com/cachefence/cachefence/audit/tree"
	"github.com/cachefence/cachefence/audit/varnish"
)

// kind is one format: how to recognise a file of it, and how to read the
// files of it together (CloudFront joins policies to distributions, a
// Terraform directory is one module, nginx and VCL follow includes).
type kind struct {
	name   string
	detect func(path string, data []byte, json *tree.Node) bool
	read   func([]audit.File) *audit.Config
}

// kinds in the order detection tries them: JSON kinds by their keys, then
// text kinds by name and content.
var kinds = []kind{
	{terraform.Kind, func(p string, _ []byte, j *tree.Node) bool { return terraform.Detect(p, j) }, terraform.Read},
	{cloudfront.Kind, jsonKind(cloudfront.Detect), cloudfront.Read},
	{cloudflare.Kind, jsonKind(cloudflare.Detect), cloudflare.Read},
	{gcp.Kind, jsonKind(gcp.Detect), gcp.Read},
	{akamai.Kind, jsonKind(akamai.Detect), akamai.Read},
	{fastly.Kind, func(p string, d []byte, j *tree.Node) bool {
		return j != nil && fastly.Detect(j) || j == nil && fastly.DetectVCL(p, d)
	}, fastly.Read},
	{varnish.Kind, func(p string, d []byte, j *tree.Node) bool { return j == nil && varnish.Detect(p, d) }, varnish.Read},
	{nginx.Kind, func(p string, d []byte, j *tree.Node) bool { return j == nil && nginx.Detect(p, d) }, nginx.Read},
}

func jsonKind(detect func(*tree.Node) bool) func(string, []byte, *tree.Node) bool {
	return func(_ string, _ []byte, j *tree.Node) bool { return j != nil && detect(j) }
}

// Kinds returns the names of the kinds, for --kind.
func Kinds() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	return names
}

// candidate says whether a file found in a directory may be a
// configuration; other files there (READMEs, scripts) are passed over.
func candidate(path string) bool {
	switch filepath.Ext(path) {
	case ".tf", ".json", ".vcl", ".conf":
		return true
	}
	return filepath.Base(path) == "nginx.conf"
}

// Paths reads every file under paths. A path named on the command line
// must be a known kind; a file found in a directory that is not one is
// recorded as skipped. force, if set, is the kind of every file.
func Paths(paths []string, force string) *audit.Config {
	r, ok := newReading(force)
	if !ok {
		return r.cfg
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			r.cfg.Fail(p, 0, err)
			continue
		}
		if !info.IsDir() {
			r.addFile(p, true)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				r.cfg.Fail(path, 0, err)
				return nil
			case d.IsDir() && path != p && strings.HasPrefix(d.Name(), "."):
				return filepath.SkipDir // .terraform, .git
			case !d.IsDir() && candidate(path) && inside(r.cfg, p, path):
				r.addFile(path, false)
			}
			return nil
		})
		if err != nil {
			r.cfg.Fail(p, 0, err)
		}
	}
	return r.read()
}

// Files reads files already in memory, such as a configuration fetched
// from a CDN's API, as Paths reads files on disk: the same detection and
// the same readers. Each must be a known kind, as a path named on the
// command line must be.
func Files(files []audit.File, force string) *audit.Config {
	r, ok := newReading(force)
	if !ok {
		return r.cfg
	}
	for _, f := range files {
		r.add(f.Path, f.Data, true)
	}
	return r.read()
}

// reading gathers files by kind, to read each kind's files together.
type reading struct {
	cfg    *audit.Config
	force  string
	byKind map[string][]audit.File
}

// newReading starts a reading; it is not ok, its configuration holding
// the error, if force is no kind.
func newReading(force string) (*reading, bool) {
	r := &reading{cfg: &audit.Config{}, force: force, byKind: map[string][]audit.File{}}
	if force != "" && !slices.Contains(Kinds(), force) {
		r.cfg.Fail("--kind", 0, fmt.Errorf("unknown kind %q; known kinds: %s", force, strings.Join(Kinds(), ", ")))
		return r, false
	}
	return r, true
}

// read has each kind's package read its files.
func (r *reading) read() *audit.Config {
	for _, k := range kinds {
		if files := r.byKind[k.name]; len(files) > 0 {
			r.cfg.Add(k.read(files))
		}
	}
	return r.cfg
}

// inside says whether path, found under the directory dir, is there once
// its links are followed: a link out of a directory given is skipped, not
// read, so that an audit of a directory reads nothing beyond it.
func inside(cfg *audit.Config, dir, path string) bool {
	if !audit.ResolvesWithin(dir, path) {
		cfg.Skip(path, 0, "a link out of the directory given, not followed")
		return false
	}
	return true
}

// addFile reads a file on disk; named says it was named on the command
// line rather than found in a directory.
func (r *reading) addFile(path string, named bool) {
	// Opening a FIFO waits for a writer, and a device may never end:
	// only regular files are read, through a link too.
	if info, err := os.Stat(path); err != nil {
		r.cfg.Fail(path, 0, err)
		return
	} else if !info.Mode().IsRegular() {
		r.cfg.Fail(path, 0, errors.New("not a regular file (a FIFO, a device or a socket), so it was not read"))
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		r.cfg.Fail(path, 0, err)
		return
	}
	r.add(path, data, named)
}

// add files data under its kind, detected unless forced.
func (r *reading) add(path string, data []byte, named bool) {
	name := r.force
	if name == "" {
		var err error
		if name, err = Detect(path, data); err != nil {
			line := 0
			if le, ok := err.(*tree.LineError); ok {
				line, err = le.Line, le.Err
			}
			r.cfg.Fail(path, line, err)
			return
		}
	}
	switch {
	case name != "":
		r.byKind[name] = append(r.byKind[name], audit.File{Path: path, Data: data})
	case named:
		r.cfg.Fail(path, 0, fmt.Errorf("unknown format; known kinds: %s (or force one with --kind)", strings.Join(Kinds(), ", ")))
	default:
		r.cfg.Skip(path, 0, "a file of no kind cachefence knows")
	}
}

// Detect returns the kind of a file, or "". A .json file that is not
// valid JSON is an error, with its line.
func Detect(path string, data []byte) (string, error) {
	var root *tree.Node
	trimmed := bytes.TrimSpace(data)
	if filepath.Ext(path) == ".json" || bytes.HasPrefix(trimmed, []byte("{")) || bytes.HasPrefix(trimmed, []byte("[")) {
		var err error
		if root, err = tree.ParseJSON(data); err != nil && filepath.Ext(path) == ".json" {
			return "", err
		}
	}
	for _, k := range kinds {
		if k.detect(path, data, root) {
			return k.name, nil
		}
	}
	return "", nil
}
