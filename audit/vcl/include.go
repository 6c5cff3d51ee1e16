package vcl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cachefence/cachefence/audit"
)

// Loader reads the file an include of from names: a key that tells files
// apart (its path), and the file parsed, with its subroutines' File set
// to where findings should point. ok is false when it is not found, and
// the loader has said why.
type Loader func(from string, inc Include) (key string, f *File, ok bool)

// maxIncludes and maxIncludeDepth bound the files one program may pull
// in, and how deep.
const (
	maxIncludes     = 200
	maxIncludeDepth = 20
)

// Program joins f, read from key, with the files it includes into one
// program, as Varnish and Fastly do: subroutines of one name are
// concatenated in the order they appear. It returns the keys of the files
// included; a file included twice, or past the bounds, is passed to
// skip.
func Program(key string, f *File, load Loader, skip func(from string, inc Include)) (*File, []string) {
	j := &joiner{load: load, skip: skip, seen: map[string]bool{key: true}}
	out := j.join(key, f, 0)
	return out, j.keys
}

type joiner struct {
	load Loader
	skip func(from string, inc Include)
	seen map[string]bool
	keys []string
}

func (j *joiner) join(key string, f *File, depth int) *File {
	out := &File{}
	add := func(subs []*Sub) {
		for _, s := range subs {
			if prev := out.Sub(s.Name); prev != nil {
				prev.Body = append(prev.Body, s.Body...)
				continue
			}
			// The copy's body is its own: appending to it must not
			// write into a file that other programs share.
			c := *s
			c.Body = slices.Clip(c.Body)
			out.Subs = append(out.Subs, &c)
		}
	}
	next := 0
	for _, inc := range f.Includes {
		add(f.Subs[next:inc.Before])
		next = inc.Before
		if len(j.keys) >= maxIncludes || depth >= maxIncludeDepth {
			j.skip(key, inc)
			continue
		}
		name, inner, ok := j.load(key, inc)
		if !ok {
			continue
		}
		if j.seen[name] {
			j.skip(key, inc)
			continue
		}
		j.seen[name] = true
		j.keys = append(j.keys, name)
		add(j.join(name, inner, depth+1).Subs)
	}
	add(f.Subs[next:])
	return out
}

// SetFile marks every subroutine and statement of f as read from file,
// so that findings in a program joined from several files point to the
// right one.
func SetFile(f *File, file string) {
	var walk func([]*Stmt)
	walk = func(body []*Stmt) {
		for _, st := range body {
			st.File = file
			for _, b := range st.Branches {
				walk(b.Body)
			}
		}
	}
	for _, s := range f.Subs {
		s.File = file
		walk(s.Body)
	}
}

// ReadAt parses a VCL file and records in cfg what it passed over, and
// the error that keeps it from being read, if any (nil is returned).
// Lines are the file's own; or, when the VCL is a string at line at of
// file (a JSON or Terraform value), at that line, naming the VCL's own.
func ReadAt(cfg *audit.Config, file string, at int, data []byte) *File {
	f, err := Parse(data)
	line := func(l int) (int, string) {
		if at > 0 {
			return at, fmt.Sprintf("VCL line %d: ", l)
		}
		return l, ""
	}
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			cfg.Fail(file, at, err)
			return nil
		}
		l, prefix := line(se.Line)
		cfg.Fail(file, l, errors.New(prefix+se.Msg))
		return nil
	}
	for _, s := range f.Skipped {
		l, prefix := line(s.Line)
		cfg.Skip(file, l, "%s%s", prefix, s.What)
	}
	return f
}

// maxFileSize bounds an included file read from disk.
const maxFileSize = 4 << 20

// Files are the VCL files given to a reader, parsed, and the files they
// include: found among those given, else read from disk under Root (the
// directory of the file being audited), never elsewhere.
type Files struct {
	cfg *audit.Config
	// given are the files given (nil for one that does not parse);
	// parsed are those read from disk.
	given, parsed map[string]*File
	// read is called with the text of every file read.
	read func(path string, data []byte)
	Root string
}

// NewFiles parses the files given, recording in cfg what does not parse,
// and calls read, if not nil, with the text of each file read then or
// later.
func NewFiles(cfg *audit.Config, files []audit.File, read func(path string, data []byte)) *Files {
	fs := &Files{cfg: cfg, given: map[string]*File{}, parsed: map[string]*File{}, read: read}
	for _, f := range files {
		fs.given[filepath.Clean(f.Path)] = ReadAt(cfg, f.Path, 0, f.Data)
		if read != nil {
			read(filepath.Clean(f.Path), f.Data)
		}
	}
	return fs
}

// Given returns a file given, parsed, or nil.
func (fs *Files) Given(path string) *File { return fs.given[filepath.Clean(path)] }

// Find returns the first of the candidate paths that is a file under
// Root, parsed, with its statements marked as read from it. ok is false
// when none is, or the one found does not parse.
func (fs *Files) Find(candidates ...string) (path string, f *File, ok bool) {
	for _, name := range candidates {
		name = filepath.Clean(name)
		if !audit.Within(fs.Root, name) || !audit.ResolvesWithin(fs.Root, name) {
			continue
		}
		if f, ok := fs.given[name]; ok {
			return name, withFile(f, name), f != nil
		}
		if f, ok := fs.parsed[name]; ok {
			return name, f, f != nil
		}
		// Only a regular file: a FIFO would hang the audit.
		info, err := os.Stat(name)
		if err != nil || !info.Mode().IsRegular() || info.Size() > maxFileSize {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if fs.read != nil {
			fs.read(name, data)
		}
		f := withFile(ReadAt(fs.cfg, name, 0, data), name)
		fs.parsed[name] = f
		return name, f, f != nil
	}
	return "", nil, false
}

func withFile(f *File, name string) *File {
	if f != nil {
		SetFile(f, name)
	}
	return f
}
