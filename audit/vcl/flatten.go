package vcl

import (
	"fmt"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// Flatten returns the statements of f as settings for drift: each keyed by
// its subroutine, the branches around it and what it acts on, with its
// text as the value, so that an inserted statement shows alone.
func Flatten(file string, f *File) []audit.Setting {
	var out []audit.Setting
	for _, s := range f.Subs {
		flatten(file, "sub "+s.Name, s.Body, &out)
	}
	return out
}

func flatten(file, path string, body []*Stmt, out *[]audit.Setting) {
	count := map[string]int{}
	for _, st := range body {
		head := st.head()
		if count[head]++; count[head] > 1 {
			head = fmt.Sprintf("%s#%d", head, count[head])
		}
		key := path + " > " + head
		if st.Kind != If {
			value := Hide(st.Value)
			if st.Kind == Set {
				value = hide(st.Value, header(st.Target)...)
			}
			*out = append(*out, audit.Setting{File: file, Line: st.Line, Name: key, Value: value})
			continue
		}
		for _, b := range st.Branches {
			cond := Hide(b.Cond)
			if audit.LooksSecret(cond) {
				cond = "condition hidden: it may hold a credential"
			}
			flatten(file, key+" ("+cond+")", b.Body, out)
		}
	}
}

// head names a statement by what it does, without its value.
func (s *Stmt) head() string {
	switch s.Kind {
	case Set:
		return "set " + s.Target
	case Unset:
		return "unset " + s.Target
	case Return:
		return "return (" + s.Target + ")"
	case Call:
		return "call " + s.Target
	case If:
		return "if"
	case Macro:
		return "#FASTLY " + s.Target
	}
	word, _, _ := strings.Cut(s.Value, " ")
	return word
}
