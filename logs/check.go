package logs

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/catalog"
	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/sarif"
)

// The checks, as findings name them.
const (
	// StampMismatch: the response carried an owner stamp made for
	// another identity than the requester's.
	StampMismatch = "stamp_mismatch"
	// CachedPersonal: a personal response (stamped, on a private path,
	// setting a cookie, or with headers that let no shared cache store
	// it) was served from a shared cache.
	CachedPersonal = "cached_personal"
	// CollapseSuspected: in a log without response headers, requesters
	// with different identities got hits on one private path within a
	// window after one miss.
	CollapseSuspected = "collapse_suspected"
	// GuardStoppedLeak: the edge guard (cachefence edge) stopped a page
	// stamped for someone else, by the verdict it logged: the cache tried
	// to leak, and nothing was delivered.
	GuardStoppedLeak = "guard_stopped_leak"
)

// Checks are the checks, worst first; the catalogue holds their
// severities and words.
var Checks = []string{StampMismatch, CachedPersonal, CollapseSuspected, GuardStoppedLeak}

// Config configures a Checker.
type Config struct {
	// Key is cache_fence's owner_stamp key. Without it, a stamp can be
	// checked only against a logged requester digest (Record.Requester),
	// which is made with the same key: equal or not, no key is needed to
	// tell. Against raw credentials it cannot be checked.
	Key []byte
	// Rules are the fence's cookie rules, credential headers and
	// parameters, and private paths: the checker reads identities and
	// paths as the fence does. Its stamp and tag options are not used.
	Rules fence.Config
	// Accounts name test accounts, so that findings say "alice" where the
	// identity is theirs: from raw credentials, and, with the Key, from
	// requester digests.
	Accounts []Account
	// CollapseWindow is how long after a miss hits count towards
	// collapse_suspected. Zero means DefaultCollapseWindow.
	CollapseWindow time.Duration
	// CollapseEntries bounds the private paths whose last miss is kept.
	// Zero means DefaultCollapseEntries.
	CollapseEntries int
}

// Account is a named test account: the request headers that log it in.
type Account struct {
	Name   string
	Header http.Header
}

// Defaults of Config.
const (
	DefaultCollapseWindow  = 5 * time.Second
	DefaultCollapseEntries = 10000
)

// collapseDistinct is how many identities other than the miss's must hit
// within the window: "several hits with different session cookies".
const collapseDistinct = 2

// Finding is one record a check flagged. It holds no secret: identities
// appear as account names, "anonymous", or digests.
type Finding struct {
	Check    string         `json:"check"`
	Severity alert.Severity `json:"severity"`
	// Source names the stream ("access.log", "push:cloudflare") and Line
	// the record's line in it.
	Source string    `json:"source"`
	Line   int64     `json:"line"`
	Time   time.Time `json:"time,omitzero"`
	Host   string    `json:"host"`
	// Path is the requested path without its query or ";" parameters,
	// which may carry credentials.
	Path  string              `json:"path"`
	Cache cachestatus.Verdict `json:"cache"`
	// CacheWord is the cache status as logged.
	CacheWord string `json:"cache_status,omitempty"`
	// Owner is whom the response was stamped for, and Requester who
	// received it.
	Owner     string `json:"owner,omitempty"`
	Requester string `json:"requester,omitempty"`
	// Why lists what made the response personal (cached_personal): the
	// words owner_stamp, private_path and set_cookie, and why
	// fence.SharedStorable lets no shared cache store it; or what the
	// collapse looked like.
	Why []string `json:"why,omitempty"`
}

// MarshalJSON writes the finding with its catalogue entry's title,
// remediation and documentation, so that a JSON reader needs no lookup.
func (f Finding) MarshalJSON() ([]byte, error) { return f.AppendJSON(nil) }

// AppendJSON appends the finding as MarshalJSON writes it, exactly as
// encoding/json would write its fields and its catalogue entry's words:
// written by hand, since reflection was most of the cost of a finding.
func (f *Finding) AppendJSON(b []byte) ([]byte, error) {
	n := len(b)
	b = appendJSONField(b, '{', "check", f.Check)
	b = appendJSONField(b, ',', "severity", string(f.Severity))
	b = appendJSONField(b, ',', "source", f.Source)
	b = strconv.AppendInt(append(b, `,"line":`...), f.Line, 10)
	if !f.Time.IsZero() {
		var err error
		// AppendText is MarshalJSON unquoted: RFC 3339, years 0 to 9999.
		if b, err = f.Time.AppendText(append(b, `,"time":"`...)); err != nil {
			return b[:n], fmt.Errorf("json: error calling MarshalJSON for type logs.Finding: %w", err)
		}
		b = append(b, '"')
	}
	b = appendJSONField(b, ',', "host", f.Host)
	b = appendJSONField(b, ',', "path", f.Path)
	b = appendJSONField(b, ',', "cache", string(f.Cache))
	for _, o := range [...]struct{ name, v string }{{"cache_status", f.CacheWord}, {"owner", f.Owner}, {"requester", f.Requester}} {
		if o.v != "" {
			b = appendJSONField(b, ',', o.name, o.v)
		}
	}
	if len(f.Why) > 0 {
		b = append(b, `,"why":`...)
		for i, w := range f.Why {
			b = appendJSONString(append(b, "[,"[min(i, 1)]), w)
		}
		b = append(b, ']')
	}
	words, ok := checkWords[f.Check]
	if !ok {
		words = appendWords(nil, f.Check)
	}
	return append(b, words...), nil
}

// checkWords are the end of each check's JSON findings, its catalogue
// words, written once.
var checkWords = func() map[string][]byte {
	m := map[string][]byte{}
	for _, check := range Checks {
		m[check] = appendWords(nil, check)
	}
	return m
}()

// appendWords appends the catalogue's words for check and the closing
// brace of a JSON finding.
func appendWords(b []byte, check string) []byte {
	e := catalog.Must(check)
	b = appendJSONField(b, ',', "title", e.Title)
	b = appendJSONField(b, ',', "remediation", e.Remediation)
	b = appendJSONField(b, ',', "doc", e.DocURL())
	return append(b, '}')
}

// appendJSONField appends sep, then "name":value; name needs no escaping.
func appendJSONField(b []byte, sep byte, name, value string) []byte {
	b = append(append(append(b, sep, '"'), name...), '"', ':')
	return appendJSONString(b, value)
}

// WriteSARIF writes findings as SARIF 2.1.0, each located at its log
// line, with the sources that could not be read as errors.
func WriteSARIF(w io.Writer, findings []*Finding, errs []string) error {
	run := sarif.Run{Tool: "cachefence logs", Rules: catalog.Of(catalog.Logs), Errors: errs}
	for _, f := range findings {
		run.Results = append(run.Results, sarif.Result{ID: f.Check, Message: f.summary(), File: f.Source,
			Line: int(f.Line), Identity: f.Key(), Severity: f.Severity,
			Properties: map[string]any{"severity": f.Severity, "host": f.Host, "path": f.Path}})
	}
	return sarif.Write(w, run)
}

// Key identifies the finding's cause across runs: the check, host and
// path.
func (f *Finding) Key() string { return f.Check + "|" + f.Host + "|" + f.Path }

// Cause is the finding as alerting sees it.
func (f *Finding) Cause() alert.Cause {
	return alert.Cause{Key: f.Key(), Kind: f.Check, Severity: f.Severity, Summary: f.summary(), Detail: f}
}

func (f *Finding) summary() string { return string(f.appendSummary(nil)) }

// appendSummary appends what the finding says, after where it was.
func (f *Finding) appendSummary(b []byte) []byte {
	b = appendAll(b, f.Host, f.Path, ": ")
	switch f.Check {
	case StampMismatch:
		return appendAll(b, "page stamped for ", f.Owner, " served to ", f.Requester, " (", f.CacheWord, ")")
	case CachedPersonal:
		b = appendJoin(append(b, "personal response ("...), f.Why, ", ")
		return appendAll(b, ") served from cache (", f.CacheWord, ") to ", f.Requester)
	case GuardStoppedLeak:
		b = appendAll(b, "the edge guard stopped a page stamped for ", cmp.Or(f.Owner, "someone else"), " (", f.CacheWord, ") for ", f.Requester, ": ")
		return appendJoin(b, f.Why, ", ")
	}
	return appendJoin(b, f.Why, "; ")
}

// appendAll appends each of parts: a finding's words, without the string
// a concatenation would make.
func appendAll(b []byte, parts ...string) []byte {
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func appendJoin(b []byte, elems []string, sep string) []byte {
	for i, e := range elems {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, e...)
	}
	return b
}

// String is the finding's line in a text report.
func (f *Finding) String() string { return string(f.appendLine(nil)) }

// AppendText appends the finding's line in a text report, and a newline.
func (f *Finding) AppendText(b []byte) []byte { return append(f.appendLine(b), '\n') }

func (f *Finding) appendLine(b []byte) []byte {
	b = strconv.AppendInt(append(append(b, f.Source...), ':'), f.Line, 10)
	b = appendAll(b, ": ", string(f.Severity), " ", f.Check, ": ")
	return f.appendSummary(b)
}

// Checker judges records. Each is judged on its own, except for
// collapse_suspected, which keeps the last miss of each private path for
// a window, in bounded memory. It is safe for concurrent use.
type Checker struct {
	key      []byte
	policy   *fence.Policy
	accounts map[string]string // identity → name
	// stampNames names the stamps of the accounts' identities and of the
	// anonymous one, made once with the key: the requester digests and
	// owner stamps that findings show by name.
	stampNames map[string]string
	// anonKey makes digests when there is no stamp key: stable within a
	// run, meaningless outside it.
	anonKey []byte
	window  time.Duration
	max     int

	mu       sync.Mutex
	collapse map[string]*missState
	seed     maphash.Seed
	// Paths and identities repeat from record to record: private and
	// stamps remember, within maxRemembered entries, whether a path is
	// private and each identity's digest (its stamp, with a key), so that
	// most records and findings cost neither a path match nor an HMAC.
	private map[string]bool
	stamps  map[string]string
	// identities remembers identities by the credentials and URL they
	// were made of.
	identities map[string]string
}

// maxRemembered bounds each of the Checker's memories; when one is full
// it starts again empty.
const maxRemembered = 4096

// missState is what the collapse check keeps for a private path: its last
// miss, and the identities that got hits since.
type missState struct {
	at       time.Time
	identity uint64
	others   [collapseDistinct]uint64
	nothers  int
}

// NewChecker checks c and returns its Checker.
func NewChecker(c Config) (*Checker, error) {
	rules := c.Rules
	rules.StampKey, rules.StampHeader, rules.TagHeader, rules.PublicPaths = nil, "", "", nil
	policy, err := fence.New(rules)
	if err != nil {
		return nil, err
	}
	if c.Key != nil && len(c.Key) < fence.MinStampKey {
		// Never echo the key.
		return nil, fmt.Errorf("owner stamp key must be at least %d bytes, got %d", fence.MinStampKey, len(c.Key))
	}
	ch := &Checker{
		key:        c.Key,
		policy:     policy,
		accounts:   map[string]string{},
		window:     cmp.Or(c.CollapseWindow, DefaultCollapseWindow),
		max:        cmp.Or(c.CollapseEntries, DefaultCollapseEntries),
		collapse:   map[string]*missState{},
		seed:       maphash.MakeSeed(),
		private:    map[string]bool{},
		stamps:     map[string]string{},
		identities: map[string]string{},
	}
	if ch.key == nil {
		ch.anonKey = make([]byte, 32)
		rand.Read(ch.anonKey)
	}
	for _, a := range c.Accounts {
		if a.Name == "" {
			return nil, errors.New("an account needs a name")
		}
		id := policy.Identity(a.Header, &url.URL{})
		if id == "" {
			return nil, fmt.Errorf("account %q: no cookie or header of it identifies a user under the cookie rules", a.Name)
		}
		if other, dup := ch.accounts[id]; dup {
			return nil, fmt.Errorf("accounts %q and %q have the same credentials", other, a.Name)
		}
		ch.accounts[id] = a.Name
	}
	if ch.key != nil {
		ch.stampNames = map[string]string{fence.OwnerStamp(ch.key, ""): "anonymous"}
		for id, name := range ch.accounts {
			ch.stampNames[fence.OwnerStamp(ch.key, id)] = name
		}
	}
	return ch, nil
}

// Stamps reports whether the checker has a key to check owner stamps
// against raw credentials; against requester digests it checks them in
// any case.
func (c *Checker) Stamps() bool { return c.key != nil }

// Check judges r, read from source, and calls emit with each finding.
func (c *Checker) Check(source string, r *Record, emit func(*Finding)) {
	hitLike := r.Cache == cachestatus.Hit || r.Cache == cachestatus.Collapsed
	stampCheck := r.Stamp != "" && (c.key != nil || r.Requester != "")
	collapseCheck := !r.Stamped && !r.Time.IsZero()
	// A guard's refusal is its own 503; a verdict on another status is not
	// believed (a varnishncsa cookie holding a tab could forge the field),
	// and the record is judged as if the guard had said nothing. A forged
	// "passed" hides nothing: it is reported as high as the hit it
	// replaces, and the stamp is still checked.
	guarded := r.Guard == fence.GuardPassed || r.Guard == fence.GuardRefused && r.Status == http.StatusServiceUnavailable
	if !stampCheck && !hitLike && !collapseCheck && !guarded {
		return
	}
	v := view{r: r, c: c}
	finding := func(check string) *Finding {
		return &Finding{Check: check, Severity: catalog.Must(check).Severity, Source: source, Line: r.Line, Time: r.Time,
			Host: printable(r.Host), Path: displayPath(r.Path), Cache: r.Cache, CacheWord: printable(r.CacheWord),
			Requester: v.name()}
	}
	if guarded {
		f := finding(GuardStoppedLeak)
		f.Why = []string{r.Guard}
		if r.Guard == fence.GuardRefused {
			// The stamp logged is the stored page's; nothing of that page
			// was delivered, so its stamp and headers are no leak.
			if r.Stamp != "" {
				f.Owner = c.owner(r.Stamp)
			}
			emit(f)
			return
		}
		// A passed page was fetched again past the cache: the stamp logged
		// is the new page's, which must be the requester's own (the stamp
		// check below still holds it to that), and the cache status logged
		// is the first lookup's, not how this page came.
		emit(f)
		hitLike = false
	}
	if stampCheck && !v.stampedFor(r.Stamp) {
		f := finding(StampMismatch)
		f.Owner = c.owner(r.Stamp)
		emit(f)
	}
	if hitLike {
		var why []string
		if r.Stamp != "" {
			why = append(why, "owner_stamp")
		}
		if v.private() {
			why = append(why, "private_path")
		}
		if r.SetCookie {
			why = append(why, "set_cookie")
		}
		if r.StorageLogged && r.Status != 0 {
			// The fence's own judge: what no shared cache may store
			// (the origin said private or no-store, or fenced it) and
			// what caches read differently was not the origin's to share.
			status := r.Status
			if status == http.StatusNotModified {
				// A 304 from storage answers a conditional request with
				// the stored response: it is that response (a 200 in all
				// but name) whose storing is judged.
				status = http.StatusOK
			}
			for _, w := range fence.SharedStorable(status, r.storageHeader()).Why {
				why = append(why, printable(w))
			}
		}
		if len(why) > 0 {
			f := finding(CachedPersonal)
			f.Why = why
			emit(f)
		}
	}
	if collapseCheck && v.private() {
		if why := c.collapsed(r, v.who()); why != "" {
			f := finding(CollapseSuspected)
			f.Why = []string{why}
			emit(f)
		}
	}
}

// view reads a record's request as the fence would, each part at most
// once and only when a check asks.
type view struct {
	r *Record
	c *Checker

	u       url.URL
	parsed  bool
	id      string
	idKnown bool
}

func (v *view) url() *url.URL {
	if !v.parsed {
		v.u = url.URL{Path: v.r.Path, RawQuery: v.r.Query}
		if p, err := url.PathUnescape(v.r.Path); err == nil {
			v.u.Path, v.u.RawPath = p, v.r.Path
		}
		v.parsed = true
	}
	return &v.u
}

// name shows the requester: by its logged digest, or else by the
// identity its raw credentials make.
func (v *view) name() string {
	if d := v.r.Requester; d != "" {
		return v.c.stampName(d)
	}
	return v.c.name(v.identity())
}

// stampedFor reports whether stamp is the requester's: the logged digest
// itself, no HMAC needed, or else the stamp of its identity.
func (v *view) stampedFor(stamp string) bool {
	if d := v.r.Requester; d != "" {
		return subtle.ConstantTimeCompare([]byte(stamp), []byte(d)) == 1
	}
	return v.c.stampFor(v.identity(), stamp)
}

// who is the requester as the collapse check tells requesters apart: its
// digest, logged or (with the key) made from its raw credentials, so that
// a log mixing both sees one requester once; without the key, the raw
// identity, which no digest matches.
func (v *view) who() string {
	switch {
	case v.r.Requester != "":
		return v.r.Requester
	case v.c.key != nil:
		return v.c.digest(v.identity())
	}
	return v.identity()
}

// identity is the requester's identity, as fence.Policy.Identity makes it
// from the raw credentials; a record with a requester digest is never
// asked it.
func (v *view) identity() string {
	if !v.idKnown {
		v.id, v.idKnown = v.c.identity(v), true
	}
	return v.id
}

// identity is v's identity. Where the record logs no header but Cookie
// and Authorization, the identity depends on those and the URL alone: the
// last maxRemembered are kept, keyed by them (in memory only, beside the
// identities, which hold the same credentials).
func (c *Checker) identity(v *view) string {
	r := v.r
	var buf [512]byte
	key := buf[:0]
	if len(r.Header) == 0 && len(r.Cookie)+len(r.Authorization)+len(r.Path)+len(r.Query)+3 <= len(buf) {
		key = append(append(append(append(append(append(append(key, r.Cookie...), 0), r.Authorization...), 0), r.Path...), 0), r.Query...)
		c.mu.Lock()
		id, ok := c.identities[string(key)]
		c.mu.Unlock()
		if ok {
			return id
		}
	}
	id := v.computeIdentity()
	if len(key) > 0 {
		c.mu.Lock()
		if len(c.identities) >= maxRemembered {
			clear(c.identities)
		}
		c.identities[string(key)] = id
		c.mu.Unlock()
	}
	return id
}

func (v *view) computeIdentity() string {
	h := make(http.Header, len(v.r.Header)+2)
	for name, values := range v.r.Header {
		h[name] = values
	}
	if v.r.Cookie != "" {
		h["Cookie"] = []string{v.r.Cookie}
	}
	if v.r.Authorization != "" {
		h["Authorization"] = []string{v.r.Authorization}
	}
	return v.c.policy.Identity(h, v.url())
}

// private says whether some form of the path matches a private path.
func (v *view) private() bool {
	c := v.c
	c.mu.Lock()
	p, ok := c.private[v.r.Path]
	c.mu.Unlock()
	if ok {
		return p
	}
	// Private paths depend on the URL alone.
	p = c.policy.Request(nil, v.url()).PrivatePath
	c.mu.Lock()
	if len(c.private) >= maxRemembered {
		clear(c.private)
	}
	// A copy: the path is a slice of its whole line.
	c.private[strings.Clone(v.r.Path)] = p
	c.mu.Unlock()
	return p
}

// stampFor reports whether stamp is the owner stamp of identity, as
// fence.VerifyOwnerStamp does, in constant time.
func (c *Checker) stampFor(identity, stamp string) bool {
	return subtle.ConstantTimeCompare([]byte(stamp), []byte(c.digest(identity))) == 1
}

// collapsed tracks r on its private path and, once enough identities
// other than the last miss's got hits within the window, says what was
// seen.
func (c *Checker) collapsed(r *Record, identity string) string {
	// The key is built on the stack (for most paths) and becomes a
	// string only when a miss is stored.
	var buf [256]byte
	key := append(append(append(buf[:0], r.Host...), 0), r.Path...)
	who := maphash.String(c.seed, identity)
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.collapse[string(key)]
	switch r.Cache {
	case cachestatus.Stored:
		if m == nil {
			if len(c.collapse) >= c.max {
				c.sweep(r.Time)
				if len(c.collapse) >= c.max {
					// Full of recent misses: this one goes
					// untracked rather than grow the map.
					return ""
				}
			}
			m = &missState{}
			c.collapse[string(key)] = m
		}
		*m = missState{at: r.Time, identity: who}
		return ""
	case cachestatus.Hit, cachestatus.Collapsed:
	default:
		return ""
	}
	if m == nil || who == m.identity || r.Time.Before(m.at) || r.Time.Sub(m.at) > c.window {
		return ""
	}
	seen := false
	for _, o := range m.others[:m.nothers] {
		seen = seen || o == who
	}
	if !seen && m.nothers < collapseDistinct {
		m.others[m.nothers] = who
		m.nothers++
	}
	if m.nothers < collapseDistinct {
		return ""
	}
	return strconv.Itoa(m.nothers) + " identities got hits within " + c.window.String() +
		" of one miss by another (this one " + r.Time.Sub(m.at).Round(time.Millisecond).String() + " after it)"
}

// sweep forgets misses older than the window before now.
func (c *Checker) sweep(now time.Time) {
	for k, m := range c.collapse {
		if now.Sub(m.at) > c.window {
			delete(c.collapse, k)
		}
	}
}

// name shows an identity: an account's name, "anonymous", or the digest
// cache_fence would stamp for it.
func (c *Checker) name(identity string) string {
	if name, ok := c.accounts[identity]; ok {
		return name
	}
	if identity == "" {
		return "anonymous"
	}
	return c.digest(identity)
}

// digest is the stamp cache_fence makes for identity, or without a stamp
// key a digest of this run's. Both are HMACs: the last maxRemembered are
// kept, so that neither checking stamps nor naming requesters computes one
// per record.
func (c *Checker) digest(identity string) string {
	c.mu.Lock()
	d, ok := c.stamps[identity]
	c.mu.Unlock()
	if ok {
		return d
	}
	if c.key != nil {
		d = fence.OwnerStamp(c.key, identity)
	} else {
		mac := hmac.New(sha256.New, c.anonKey)
		mac.Write([]byte(identity))
		d = "id:" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:9])
	}
	c.mu.Lock()
	if len(c.stamps) >= maxRemembered {
		clear(c.stamps)
	}
	c.stamps[identity] = d
	c.mu.Unlock()
	return d
}

// owner shows whom a stamp was made for: an account, anonymous, or the
// stamp itself, already a digest, when it has a stamp's form.
func (c *Checker) owner(stamp string) string {
	if !wellFormedStamp(stamp) {
		// Not a stamp the fence made: whatever the field held is not
		// echoed.
		return "a malformed stamp"
	}
	return c.stampName(stamp)
}

// stampName shows a well-formed stamp or requester digest: by the name of
// the account or anonymous identity it was made for (known with the key),
// or as itself, which gives nothing away.
func (c *Checker) stampName(stamp string) string {
	if name, ok := c.stampNames[stamp]; ok {
		return name
	}
	return stamp
}

// stampPrefix starts every stamp (fence's stampVersion).
const stampPrefix = "v1."

// wellFormedStamp says whether s has the form of cache_fence's stamps:
// "v1." and 16 bytes in unpadded base64url (22 characters, the last
// carrying four bits of padding, which decoding ignores).
func wellFormedStamp(s string) bool {
	digest, ok := strings.CutPrefix(s, stampPrefix)
	if !ok || len(digest) != 22 {
		return false
	}
	for i := range len(digest) {
		if !base64URL[digest[i]] {
			return false
		}
	}
	return true
}

// base64URL marks the bytes of the base64url alphabet.
var base64URL = func() (in [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		in[c] = true
	}
	return in
}()

// displayPath is a path fit to print: with its path parameters and
// ASP.NET cookieless segments, where session ids live, redacted, and safe
// for a terminal. One page is one path, whoever asked for it.
func displayPath(p string) string {
	return printable(fence.RedactPath(p))
}
