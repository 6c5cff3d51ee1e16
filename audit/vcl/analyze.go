package vcl

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/audit"
)

// Dialect is what a VCL runtime does around the user's code.
type Dialect struct {
	Vendor string
	// Fetch and Recv name the subroutines that see the backend response
	// and the client request.
	Fetch, Recv []string
	// Builtin says a built-in VCL runs after the user's subroutine unless
	// it returns, checking Authorization and Cookie in the request and
	// private, no-store and Set-Cookie in the response (Varnish). Without
	// it, only the user's code checks anything (Fastly).
	Builtin bool
}

// Varnish is the dialect of Varnish 4 and later (and vcl_fetch of 3).
var Varnish = Dialect{Vendor: audit.Varnish, Fetch: []string{"vcl_backend_response", "vcl_fetch"},
	Recv: []string{"vcl_recv"}, Builtin: true}

// Fastly is the dialect of Fastly VCL.
var Fastly = Dialect{Vendor: audit.Fastly, Fetch: []string{"vcl_fetch"}, Recv: []string{"vcl_recv"}}

// builtinObeys are the signals Varnish's built-in vcl_beresp_control
// checks: Surrogate-Control no-store, else Cache-Control.
const builtinObeys = audit.SurrogateControlNoStore | audit.CacheControlPrivate | audit.CacheControlNoStore

// maxCalls bounds the inlining of called subroutines.
const maxCalls = 50

// Scopes returns what the VCL's fetch and recv subroutines do.
func Scopes(file string, f *File, d Dialect) []audit.Scope {
	var out []audit.Scope
	for _, name := range d.Fetch {
		if sub := f.Sub(name); sub != nil {
			a := &fetch{walker: walker{file: file, f: f, d: d, sub: sub}}
			out = append(out, a.run()...)
		}
	}
	for _, name := range d.Recv {
		if sub := f.Sub(name); sub != nil {
			a := &recv{walker: walker{file: file, f: f, d: d, sub: sub}}
			out = append(out, a.run()...)
		}
	}
	return out
}

type walker struct {
	file  string
	f     *File
	d     Dialect
	sub   *Sub
	calls int
}

func (w *walker) scope(cond string) audit.Scope {
	s := audit.Scope{Vendor: w.d.Vendor, File: cmp.Or(w.sub.File, w.file), Line: w.sub.Line, Name: "sub " + w.sub.Name}
	if cond != "" {
		s.Name += when(cond)
		s.Static = w.static(cond)
	}
	return s
}

// imageOptimizer is the header Fastly's Image Optimizer sets on the
// requests it processes: images, whatever their URL.
const imageOptimizer = "req.http.x-fastly-imageopto-api"

// static says why a condition limits a statement to static files, or
// returns "". On Fastly, a condition that is only that the Image
// Optimizer processes the request does too, as Fastly's boilerplate
// uses it.
func (w *walker) static(cond string) string {
	if w.d.Vendor == audit.Fastly && strings.ToLower(strings.TrimSpace(cond)) == imageOptimizer {
		return "requests that Fastly's Image Optimizer processes"
	}
	return audit.Static(cond)
}

// when notes a condition in a scope's name or a setting's value, its
// values hidden.
func when(cond string) string {
	c := Hide(cond)
	if audit.LooksSecret(c) {
		c = "a condition that may hold a credential"
	}
	return " when " + c
}

// setting is where a statement run under cond causes a behaviour.
func (w *walker) setting(st *Stmt, what, cond string) *audit.Setting {
	if cond != "" {
		what += when(cond)
	}
	return &audit.Setting{File: cmp.Or(st.File, w.file), Line: st.Line, Name: "sub " + w.sub.Name, Value: what}
}

// call walks the statements of a called subroutine, in its own file.
func (w *walker) call(st *Stmt, walk func([]*Stmt)) {
	sub := w.f.Sub(st.Target)
	if w.calls++; sub == nil || w.calls > maxCalls {
		return
	}
	walk(sub.Body)
}

// fetch follows the backend response subroutine.
type fetch struct {
	walker
	// obeys are the signals the code has checked so far, each with a
	// branch that refuses to cache.
	obeys audit.Signal
	// lost are the signals that the code removed, by unsetting or
	// overwriting the header they are read from, so that the built-in
	// check, or one of the code's own that follows, misses them; lostAt
	// is the first statement that did.
	lost   audit.Signal
	lostAt *audit.Setting
	scopes []audit.Scope
	main   audit.Scope
	ended  bool
}

func (a *fetch) run() []audit.Scope {
	a.main = a.scope("")
	a.stmts(a.sub.Body, "")
	if !a.ended {
		a.end(a.main.Line, "")
	}
	return append([]audit.Scope{a.main}, a.scopes...)
}

// end records where the subroutine stops without a return: Varnish's
// built-in checks run, Fastly delivers.
func (a *fetch) end(line int, cond string) {
	if a.d.Builtin {
		// Signals the code checked itself before removing them count.
		if a.lost&^a.obeys&(audit.CacheControlPrivate|audit.CacheControlNoStore) != 0 {
			s := a.target(cond)
			s.Store, s.Obeys = a.lostAt, (builtinObeys&^a.lost)|a.obeys
		}
		return
	}
	a.deliver(line, cond, "reaches its end, which delivers")
}

// deliver records that responses are cached from here, having been
// checked for a.obeys only.
func (a *fetch) deliver(line int, cond, what string) {
	const both = audit.CacheControlPrivate | audit.CacheControlNoStore
	if a.obeys&both == both {
		return
	}
	s := a.target(cond)
	if s.Store == nil && a.lost&both != 0 {
		s.Store, s.Obeys = a.lostAt, a.obeys
	}
	if s.Store == nil {
		s.Store = &audit.Setting{File: cmp.Or(a.sub.File, a.file), Line: line, Name: "sub " + a.sub.Name, Value: what}
		if a.obeys == 0 {
			s.Store.Value += " before any private or no-store check"
		} else {
			s.Store.Value += " after checking " + a.obeys.String() + " only"
		}
		s.Obeys = a.obeys
	}
}

// target returns the scope that a statement under cond affects: the
// subroutine's own, or one for a static-looking condition.
func (a *fetch) target(cond string) *audit.Scope {
	if cond == "" || a.static(cond) == "" {
		return &a.main
	}
	s := a.scope(cond)
	for i := range a.scopes {
		if a.scopes[i].Name == s.Name {
			return &a.scopes[i]
		}
	}
	a.scopes = append(a.scopes, s)
	return &a.scopes[len(a.scopes)-1]
}

func (a *fetch) stmts(body []*Stmt, cond string) {
	for _, st := range body {
		if a.ended && cond == "" {
			return
		}
		switch st.Kind {
		case If:
			a.branches(st, cond)
		case Call:
			a.call(st, func(body []*Stmt) { a.stmts(body, cond) })
		case Macro:
			// Fastly's generated code goes here; the caller inlines it.
		case Return:
			a.ret(st, cond)
			if cond == "" {
				a.ended = true
			}
		case Set, Unset:
			a.assign(st, cond)
		}
	}
}

func (a *fetch) branches(st *Stmt, outer string) {
	for i, b := range st.Branches {
		cond := joinCond(outer, branchCond(st, i))
		// A check of a header the code removed before sees nothing.
		if sig := signals(b.Cond) &^ a.lost; sig != 0 && refuses(b.Body) {
			a.obeys |= sig
			continue
		}
		if refuses(b.Body) {
			continue // an uncacheable branch stores nothing
		}
		a.stmts(b.Body, cond)
	}
}

func (a *fetch) ret(st *Stmt, cond string) {
	switch strings.ToLower(st.Target) {
	case "deliver":
		if a.d.Builtin {
			// Returning skips the built-in checks: only the user's count.
			// A removal before it counted on the built-in check, which
			// this return skips.
			s := a.target(cond)
			if (s.Store == nil || s.Obeys&^a.obeys != 0) && a.obeys&builtinObeys != builtinObeys {
				s.Store = a.setting(st, "return (deliver) skips the built-in private/no-store check", cond)
				s.Obeys = a.obeys
			}
			return
		}
		a.deliver(st.Line, cond, "return (deliver)")
	}
}

func (a *fetch) assign(st *Stmt, cond string) {
	target := strings.ToLower(st.Target)
	value := strings.ToLower(strings.TrimSpace(st.Value))
	switch {
	// A TTL under a condition on the status is error handling, not pages.
	case st.Kind == Set && target == "beresp.ttl" && !isZero(value) && !aboutHeaders(cond) && !strings.Contains(cond, "status"):
		s := a.target(cond)
		if s.TTL == nil {
			s.TTL = a.setting(st, "set beresp.ttl = "+st.Value, cond)
		}
	case st.Kind == Set && target == "beresp.uncacheable" && value == "false":
		s := a.target(cond)
		s.Store, s.Obeys = a.setting(st, "set beresp.uncacheable = false", cond), a.obeys
	case st.Kind == Unset && target == "beresp.http.set-cookie":
		s := a.target(cond)
		if s.StripsSetCookie == nil {
			s.StripsSetCookie = a.setting(st, "unset beresp.http.Set-Cookie", cond)
		}
	case target == "beresp.http.cache-control":
		a.remove(st, cond, audit.CacheControlPrivate|audit.CacheControlNoStore)
	case target == "beresp.http.surrogate-control" && st.Kind == Set:
		// A Surrogate-Control set here is what the built-in check reads
		// in place of Cache-Control.
		a.remove(st, cond, audit.SurrogateControlNoStore|audit.CacheControlPrivate|audit.CacheControlNoStore)
	}
}

// remove records that a statement under cond unsets or overwrites the
// header the signals lost are read from. Under a condition on static
// URLs, only that scope loses them; under any other condition, every
// response may, and the condition is noted.
func (a *fetch) remove(st *Stmt, cond string, lost audit.Signal) {
	what := st.head() + " before the private/no-store check"
	if a.static(cond) != "" {
		s := a.target(cond)
		if s.Store == nil {
			base := a.obeys
			if a.d.Builtin {
				base |= builtinObeys
			}
			s.Store, s.Obeys = a.setting(st, what, cond), base&^lost
		}
		return
	}
	if a.lostAt == nil {
		a.lostAt = a.setting(st, what, cond)
	}
	a.lost |= lost
}

// recv follows the request subroutine.
type recv struct {
	walker
	auth, cookie bool // the code passes requests with these itself
	// removals are the conditions under which the code removed the Cookie
	// header ("" for every request), and passed those under which it
	// passed requests, so far.
	removals, passed []string
	main             audit.Scope
	ended            bool
}

func (a *recv) run() []audit.Scope {
	a.main = a.scope("")
	a.stmts(a.sub.Body, "")
	if !a.ended && !a.d.Builtin {
		a.lookup(&Stmt{Line: a.sub.Line}, "", "reaches its end, which looks the request up")
	}
	return []audit.Scope{a.main}
}

func (a *recv) stmts(body []*Stmt, cond string) {
	for _, st := range body {
		if a.ended && cond == "" {
			return
		}
		switch st.Kind {
		case If:
			for i, b := range st.Branches {
				c := strings.ToLower(b.Cond)
				if passes(b.Body) {
					a.passed = append(a.passed, joinCond(cond, branchCond(st, i)))
					a.auth = a.auth || strings.Contains(c, "req.http.authorization")
					a.cookie = a.cookie || strings.Contains(c, "req.http.cookie")
					continue
				}
				a.stmts(b.Body, joinCond(cond, branchCond(st, i)))
			}
		case Call:
			a.call(st, func(body []*Stmt) { a.stmts(body, cond) })
		case Unset:
			if strings.EqualFold(st.Target, "req.http.cookie") {
				a.removals = append(a.removals, cond)
			}
		case Return:
			switch strings.ToLower(st.Target) {
			case "hash", "lookup":
				a.lookup(st, cond, "return ("+st.Target+")")
			}
			if cond == "" {
				a.ended = true
			}
		}
	}
}

// lookup records that requests reach the cache here with whatever
// credentials the code has not dealt with.
func (a *recv) lookup(st *Stmt, cond, what string) {
	if a.static(cond) != "" {
		return // requests for static files: the origin serves them alike
	}
	if a.d.Builtin && !a.auth && a.main.Authorization == nil {
		a.main.Authorization = a.setting(st, what+" before the built-in Authorization check", cond)
	}
	if a.cookie || a.main.Unkeyed != nil {
		return
	}
	if a.d.Builtin {
		what += " before the built-in Cookie check"
	}
	switch removed, only := a.cookieRemoved(cond); {
	case removed:
	case only != "":
		// A removal under a condition the code does not prove of these
		// requests: not a leak asserted, nor a safety assumed.
		a.main.Unkeyed = a.setting(st, what, cond)
		a.main.Unkeyed.Value += ": the Cookie is removed only" + when(only)
		a.main.Unkeyed.Unknown = true
	default:
		a.main.Unkeyed = a.setting(st, what+": requests with cookies are looked up by URL", cond)
	}
}

// cookieRemoved says whether the Cookie was removed from every request
// that reaches a lookup under cond: by a removal for every request, or
// under a condition that cond includes, or whose complement was passed
// before. Else it returns the condition of the first removal, if any.
func (a *recv) cookieRemoved(cond string) (removed bool, only string) {
	for _, r := range a.removals {
		if r == "" || cond == r || strings.HasPrefix(cond, r+" && ") ||
			slices.ContainsFunc(a.passed, func(p string) bool { return complements(r, p) }) {
			return true, ""
		}
	}
	if len(a.removals) > 0 {
		return false, a.removals[0]
	}
	return false, ""
}

// complements says whether two conditions are each other's negation as
// written, so that one of them holds for every request: "x ~ p" and
// "x !~ p", "x == y" and "x != y", "c" and "!c" or "!(c)".
func complements(a, b string) bool {
	ta, err := lex([]byte(a))
	if err != nil {
		return false
	}
	tb, err := lex([]byte(b))
	if err != nil {
		return false
	}
	return slices.Contains(negations(ta), words(tb)) || slices.Contains(negations(tb), words(ta))
}

// negations returns ways to write the negation of a condition, as words.
func negations(toks []token) []string {
	out := []string{"! ( " + words(toks) + " )"}
	switch {
	case len(toks) == 2 && toks[0].is("!"):
		out = append(out, words(toks[1:]))
	case len(toks) > 2 && toks[0].is("!") && enclosed(toks[1:]):
		out = append(out, words(toks[2:len(toks)-1]))
	}
	// One comparison, not joined to another: its operator swapped.
	op, depth := -1, 0
	for i, t := range toks {
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		case depth > 0 || t.kind != tPunct:
		case t.text == "&&" || t.text == "||":
			return out
		case negated[t.text] != "":
			if op >= 0 {
				return out
			}
			op = i
		}
	}
	if op >= 0 {
		swapped := slices.Clone(toks)
		swapped[op].text = negated[toks[op].text]
		out = append(out, words(swapped))
	}
	return out
}

// enclosed says whether tokens are one parenthesized group.
func enclosed(toks []token) bool {
	depth := 0
	for i, t := range toks {
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			if depth--; depth == 0 {
				return i == len(toks)-1
			}
		}
	}
	return false
}

// negated are the comparisons and their negations.
var negated = map[string]string{"~": "!~", "!~": "~", "==": "!=", "!=": "=="}

// words writes tokens as cond does: separated by spaces.
func words(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.source()
	}
	return strings.Join(parts, " ")
}

// signals returns the response signals a condition tests for, unless it
// tests for their absence.
func signals(cond string) audit.Signal {
	c := strings.ToLower(cond)
	if strings.Contains(c, "!~") || strings.Contains(c, "!beresp") || strings.Contains(c, "! beresp") {
		return 0
	}
	var s audit.Signal
	if strings.Contains(c, "beresp.http.cache-control") {
		if strings.Contains(c, "private") {
			s |= audit.CacheControlPrivate
		}
		if strings.Contains(c, "no-store") {
			s |= audit.CacheControlNoStore
		}
	}
	if strings.Contains(c, "beresp.http.surrogate-control") && strings.Contains(c, "no-store") {
		s |= audit.SurrogateControlNoStore
	}
	return s
}

// refuses says whether a branch keeps its response out of the cache.
func refuses(body []*Stmt) bool {
	for _, st := range body {
		v := strings.ToLower(strings.TrimSpace(st.Value))
		switch {
		case st.Kind == Return && strings.HasPrefix(strings.ToLower(st.Target), "pass"),
			st.Kind == Return && strings.EqualFold(st.Target, "hit_for_pass"),
			st.Kind == Set && strings.EqualFold(st.Target, "beresp.uncacheable") && v == "true",
			st.Kind == Set && strings.EqualFold(st.Target, "beresp.ttl") && isZero(v):
			return true
		case st.Kind == Call && strings.EqualFold(st.Target, "vcl_beresp_hitmiss"):
			return true
		}
	}
	return false
}

// passes says whether a request branch sends the request past the cache.
func passes(body []*Stmt) bool {
	for _, st := range body {
		if st.Kind == Return {
			switch strings.ToLower(st.Target) {
			case "pass", "pipe", "synth", "error":
				return true
			}
		}
	}
	return false
}

// aboutHeaders says whether a condition reads the origin's caching
// headers, so that a TTL set under it respects them.
func aboutHeaders(cond string) bool {
	c := strings.ToLower(cond)
	for _, h := range []string{"beresp.http.cache-control", "beresp.http.expires", "beresp.http.surrogate-control"} {
		if strings.Contains(c, h) {
			return true
		}
	}
	return false
}

func isZero(v string) bool {
	v = strings.TrimSpace(v)
	return strings.TrimLeft(v, "-0.") == "s" || strings.TrimLeft(v, "-0.") == "" || strings.HasPrefix(v, "-")
}

// branchCond is the condition under which branch i runs: its own, or for
// an else, that no earlier one held.
func branchCond(st *Stmt, i int) string {
	if c := st.Branches[i].Cond; c != "" {
		return c
	}
	var earlier []string
	for _, b := range st.Branches[:i] {
		earlier = append(earlier, b.Cond)
	}
	return fmt.Sprintf("!(%s)", strings.Join(earlier, " || "))
}

func joinCond(outer, inner string) string {
	if outer == "" {
		return inner
	}
	return outer + " && " + inner
}
