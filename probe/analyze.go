package probe

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"
)

// someoneElse owns a page whose owner stamp no known identity verifies.
const someoneElse = "someone else"

// maxEvidence bounds the evidence lines of one finding.
const maxEvidence = 6

// analysis holds what the whole run says about each response: whose
// Set-Cookie was whose, which stamps can be believed, what the anonymous
// visitor got.
type analysis struct {
	ids []Identity
	// trustStamps: some owner stamp verified, so the key is the fence's.
	trustStamps bool
	// minted maps a Set-Cookie pair to the receivers it was minted for:
	// those who got it in a response not served from storage.
	minted map[string]map[string]bool
	// stampsProven names the receivers whose own stamps verified: for
	// them, a stamp that verifies for no one is a stranger's page.
	stampsProven map[string]bool
	// anonymous holds, per URL and suffix, the bodies an anonymous visitor
	// got through the edge.
	anonymous map[string]map[[sha256.Size]byte]bool
	// recognised holds, per URL, the identities that saw their own page
	// there, through the edge or at the origin.
	recognised map[string]map[string]bool
}

// sighting is one reason to believe a response is owner's page.
type sighting struct {
	owner, why string
}

// analyze turns a run's observations into findings, and says what makes
// the run untrustworthy.
func (p *Prober) analyze(obs []*observation) *Report {
	rep := &Report{}
	a := &analysis{ids: p.cfg.Identities, minted: map[string]map[string]bool{}, stampsProven: map[string]bool{},
		anonymous: map[string]map[[sha256.Size]byte]bool{}, recognised: map[string]map[string]bool{}}
	a.trustStamps = p.checkStamps(obs, rep)
	for _, o := range obs {
		recv := o.receiverName()
		if a.trustStamps && o.stamped && o.stampFor == recv {
			a.stampsProven[recv] = true
		}
		if o.signal.Verdict != cachestatus.Hit && o.signal.Verdict != cachestatus.Collapsed {
			for _, pair := range o.cookies {
				addTo(a.minted, pair, recv)
			}
		}
		if o.receiver == nil && o.via != viaOrigin {
			if a.anonymous[o.target+o.suffix] == nil {
				a.anonymous[o.target+o.suffix] = map[[sha256.Size]byte]bool{}
			}
			a.anonymous[o.target+o.suffix][o.body] = true
		}
		if a.own(o) {
			addTo(a.recognised, o.target, recv)
		}
	}
	fs := findings{}
	for _, o := range obs {
		a.judge(fs, o)
	}
	// A URL that leaks is one finding: its own pages served from storage,
	// or the anonymous page served to a signed-in identity, are the same
	// cause, a cache that keys without the session.
	for key, b := range fs {
		if (b.kind == KindCached || b.kind == KindLoggedOutPage) && fs[KindLeak+" "+b.url] != nil {
			delete(fs, key)
		}
	}
	p.judgeHeaders(fs, obs, a)
	p.judgePublic(fs, obs)
	rep.Findings = fs.list()
	p.checkIdentities(obs, rep, a)
	return rep
}

// addTo adds v to the set m[k].
func addTo[K comparable](m map[K]map[string]bool, k K, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

// own reports whether o shows its receiver's own markers or a stamp made
// for it.
func (a *analysis) own(o *observation) bool {
	return o.receiver != nil && (o.markers[o.receiver.Name] > 0 || (a.trustStamps && o.stampFor == o.receiver.Name))
}

// foreign lists why o is someone else's page: their markers, their
// session cookie, their owner stamp.
func (a *analysis) foreign(o *observation) []sighting {
	recv := o.receiverName()
	var seen []sighting
	for _, id := range a.ids {
		if n := o.markers[id.Name]; n > 0 && id.Name != recv {
			seen = append(seen, sighting{id.Name, fmt.Sprintf("the body holds %s's marker #%d", id.Name, n)})
		}
	}
	for _, pair := range o.cookies {
		if owner, why := a.cookieOwner(pair, recv); owner != "" {
			seen = append(seen, sighting{owner, why})
		}
	}
	if a.trustStamps && o.stamped && o.stampFor != recv {
		switch {
		case o.stampFor != "" && o.stampFor != Anonymous:
			seen = append(seen, sighting{o.stampFor, fmt.Sprintf("the owner stamp was made for %s", o.stampFor)})
		case o.stampFor == "" && a.stampsProven[recv]:
			// The stamp verifies for no one the probe knows, while
			// recv's own stamps verify: a stranger's page.
			seen = append(seen, sighting{someoneElse, "the owner stamp was made for no identity the probe knows"})
		}
	}
	return seen
}

// cookieOwner says whose session the Set-Cookie pair is, when it is not
// recv's: a pair carrying a cookie value configured for one identity
// alone, or a pair minted for exactly one receiver. A pair everyone gets (a locale, a
// consent cookie, an empty value) is no one's.
func (a *analysis) cookieOwner(pair, recv string) (owner, why string) {
	name, value, _ := strings.Cut(pair, "=")
	if value == "" {
		return "", ""
	}
	// A configured cookie counts only when it is one identity's alone: two
	// test accounts may well share a locale or consent cookie.
	var holders []string
	for _, id := range a.ids {
		if id.Cookies[name] == value {
			holders = append(holders, id.Name)
		}
	}
	if len(holders) == 1 && holders[0] != recv {
		return holders[0], fmt.Sprintf("a Set-Cookie for cookie %q carries %s's value", name, holders[0])
	}
	if minters := a.minted[pair]; len(minters) == 1 && !minters[recv] {
		for m := range minters {
			return m, fmt.Sprintf("a Set-Cookie for cookie %q carries the value minted for %s", name, m)
		}
	}
	return "", ""
}

// mechanism names how o's page reached its receiver.
func mechanism(o *observation) string {
	switch o.via {
	case viaPathConfusion:
		return MechPathConfusion
	case viaOrigin:
		return MechOrigin
	case viaBurst:
		// A burst answered from storage is a plain hit, not collapsing.
		if o.signal.Verdict != cachestatus.Hit {
			return MechCollapsed
		}
	}
	return MechSequential
}

// judge adds what o shows: a leak, an own page from storage, the
// anonymous page served to a signed-in identity.
func (a *analysis) judge(fs findings, o *observation) {
	recv := o.receiverName()
	mech := mechanism(o)
	if o.guard != "" {
		fs.add(KindGuardStopped, o, Pair{someoneElse, recv}, mech, fmt.Sprintf("the edge guard stopped a page stamped for someone else on its way to %s (%s: %s)",
			recv, fence.GuardHeader, o.guard))
	}
	foreign := a.foreign(o)
	for _, s := range foreign {
		fs.add(KindLeak, o, Pair{s.owner, recv}, mech, fmt.Sprintf("%s got %s's page: %s", recv, s.owner, s.why))
	}
	if o.receiver == nil || len(foreign) > 0 || o.status >= 300 {
		return
	}
	if a.own(o) {
		if o.signal.Verdict == cachestatus.Hit {
			fs.add(KindCached, o, Pair{recv, recv}, mech, fmt.Sprintf("%s's own page came from a shared cache", recv))
		}
		return
	}
	if o.suffix != "" {
		// The anonymous page under a static-looking suffix is what a cache
		// that strips cookies from static files safely serves.
		return
	}
	var why string
	switch {
	case a.trustStamps && o.stampFor == Anonymous:
		why = "the owner stamp was made for an anonymous request"
	case a.anonymous[o.target+o.suffix][o.body] && (a.recognised[o.target][recv] || o.signal.Verdict == cachestatus.Hit):
		why = "the body is the one an anonymous visitor got"
	default:
		return
	}
	fs.add(KindLoggedOutPage, o, Pair{Anonymous, recv}, mech, fmt.Sprintf("%s got the anonymous page: %s", recv, why))
}

// judgeHeaders judges the storage headers of personal pages where they
// are set, with the fence's own rules: at the origin when origin_url is
// set, else at the edge. With origin_url, what the edge adds is reported
// apart, as information: no origin change can clear it. Only a response
// that is its receiver's own page is judged: the headers of the anonymous
// page, or of someone else's, say nothing about the personal page's.
func (p *Prober) judgeHeaders(fs findings, obs []*observation, a *analysis) {
	origin := map[string]map[string]bool{} // URL -> the origin's problems
	for _, o := range obs {
		if o.via == viaOrigin && a.own(o) && o.status < 300 {
			for _, problem := range fence.StorageProblems(o.header) {
				addTo(origin, o.target, problem)
				fs.note(KindUnsafeHeaders, o.target, "at the origin: "+problem)
			}
		}
	}
	for _, o := range obs {
		if o.via != viaSequential || !a.own(o) || o.status >= 300 {
			continue
		}
		for _, problem := range fence.StorageProblems(o.header) {
			switch {
			case p.origin == nil:
				fs.note(KindUnsafeHeaders, o.target, "at the edge (set origin_url to judge the origin's own headers): "+problem)
			case !origin[o.target][problem]:
				fs.note(KindEdgeHeaders, o.target, "the edge delivers what the origin did not send: "+problem)
			}
		}
	}
}

// judgePublic reports public URLs that the cache does not store. When the
// cache says it served the second request from storage, the page is
// cacheable, whatever its headers say to browsers. Otherwise the headers
// are judged where they are set: at origin_url, else at the edge.
func (p *Prober) judgePublic(fs findings, obs []*observation) {
	last, origin := map[string]*observation{}, map[string]*observation{}
	for _, o := range obs {
		switch {
		case o.via == viaPublic:
			last[o.target] = o // the second fetch comes after the first
		case o.via == viaOrigin && o.receiver == nil:
			origin[o.target] = o
		}
	}
	for target, o := range last {
		if o.signal.Verdict == cachestatus.Hit {
			continue
		}
		var why []string
		if o.signal.Verdict == cachestatus.Passed {
			why = append(why, "the cache passed it: "+o.signal.Evidence)
		}
		judged, where := o, "at the edge"
		if at := origin[target]; at != nil {
			judged, where = at, "at the origin"
		}
		for _, reason := range notCacheable(judged.status, judged.header) {
			why = append(why, where+": "+reason)
		}
		for _, w := range why {
			fs.note(KindNotCacheable, target, w)
		}
	}
}

// notCacheable lists why a shared cache will not store a response, by
// the fence's judge, or, when one may, why it will not reuse it without
// asking the origin: a shared lifetime of 0.
func notCacheable(status int, h http.Header) []string {
	s := fence.SharedStorable(status, h)
	if s.OK && s.MaxAge == 0 {
		return []string{"its shared-cache lifetime (s-maxage or max-age) is 0: every reuse waits for the origin"}
	}
	return s.Why
}

// checkStamps reports, as untrusted, owner stamps that verify for no one:
// a key that is not the fence's. It says whether stamps can be believed.
func (p *Prober) checkStamps(obs []*observation, rep *Report) bool {
	stamps, verified := 0, 0
	for _, o := range obs {
		if o.stamped {
			stamps++
			if o.stampFor != "" {
				verified++
			}
		}
	}
	if stamps > 0 && verified == 0 {
		rep.Untrusted = append(rep.Untrusted, fmt.Sprintf("none of the %d owner stamps seen verifies for any identity, so none was used as evidence: "+
			"check that owner_stamp.key, session_cookies, ignore_cookies, credential_headers and credential_params are the fence's", stamps))
		return false
	}
	return true
}

// checkIdentities reports, as untrusted, an identity that never saw its
// own page (an expired login, credentials that do not log in, personal
// URLs that redirect elsewhere): every check of its pages would pass for
// the wrong reason.
func (p *Prober) checkIdentities(obs []*observation, rep *Report, a *analysis) {
	leakedTo := map[string]bool{}
	guardStopped := false
	for _, f := range rep.Findings {
		if f.Kind == KindLeak || f.Kind == KindGuardStopped {
			for _, pair := range f.Pairs {
				leakedTo[pair.Receiver] = true
			}
		}
		guardStopped = guardStopped || f.Kind == KindGuardStopped
	}
	answered := map[string]int{}
	for _, o := range obs {
		if o.receiver != nil {
			answered[o.receiver.Name]++
		}
	}
	anyRecognised := false
	for _, id := range p.cfg.Identities {
		recognised := false
		for _, names := range a.recognised {
			recognised = recognised || names[id.Name]
		}
		anyRecognised = anyRecognised || recognised
		// An identity served someone else's page may never see its own:
		// that is the leak, already reported, or the guard's refusal.
		if answered[id.Name] > 0 && !recognised && !leakedTo[id.Name] {
			rep.Untrusted = append(rep.Untrusted, fmt.Sprintf("identity %s: none of its %d responses showed its markers or its owner stamp; "+
				"check that its credentials still log in and that the personal URLs render its pages", id.Name, answered[id.Name]))
		}
	}
	// A guard without the fence's key refuses every owner as well: its
	// refusals then say nothing of the cache.
	if guardStopped && !anyRecognised {
		rep.Untrusted = append(rep.Untrusted, "the edge guard refused pages and no identity ever got its own: "+
			"a guard without the fence's key, or with another, refuses every page's owner too; check the key the guard holds")
	}
}

// findings collects findings by key while a run is analysed.
type findings map[string]*builder

// builder is one finding being put together.
type builder struct {
	kind, url string
	pairs     map[Pair]bool
	mechs     map[string]bool
	suffixes  map[string]bool
	evidence  map[string]bool
	// said keeps, per verdict, the first cache signal that gave it: the
	// headers differ in every response (ids, ages), the verdict does not.
	said map[cachestatus.Verdict]string
}

// builder returns the finding of kind on url, new or as far as it got.
func (fs findings) builder(kind, url string) *builder {
	key := kind + " " + url
	b := fs[key]
	if b == nil {
		b = &builder{kind: kind, url: url, pairs: map[Pair]bool{}, mechs: map[string]bool{},
			suffixes: map[string]bool{}, evidence: map[string]bool{}, said: map[cachestatus.Verdict]string{}}
		fs[key] = b
	}
	return b
}

// add records one sighting of kind in o: whose page reached whom, how,
// and why the probe believes it.
func (fs findings) add(kind string, o *observation, pair Pair, mech, evidence string) {
	b := fs.builder(kind, o.target)
	b.pairs[pair] = true
	b.mechs[mech] = true
	if o.suffix != "" {
		b.suffixes[o.suffix] = true
	}
	b.evidence[evidence] = true
	if v := o.signal.Verdict; v != cachestatus.Unknown && b.said[v] == "" {
		b.said[v] = o.signal.Evidence
	}
}

// note records evidence of kind on url that no response pair carries,
// such as a header judgement.
func (fs findings) note(kind, url, evidence string) {
	fs.builder(kind, url).evidence[evidence] = true
}

// mechOrder is the order mechanisms are listed in.
var mechOrder = []string{MechSequential, MechCollapsed, MechPathConfusion, MechOrigin}

// list returns the findings, sorted, with their evidence bounded.
func (fs findings) list() []Finding {
	out := make([]Finding, 0, len(fs))
	for _, b := range fs {
		f := Finding{Severity: severityOf(b.kind), Kind: b.kind, URL: b.url,
			Suffixes: slices.Sorted(maps.Keys(b.suffixes)), Evidence: slices.Sorted(maps.Keys(b.evidence))}
		f.Pairs = slices.SortedFunc(maps.Keys(b.pairs), func(x, y Pair) int {
			return cmp.Or(cmp.Compare(x.Owner, y.Owner), cmp.Compare(x.Receiver, y.Receiver))
		})
		for _, m := range mechOrder {
			if b.mechs[m] {
				f.Mechanisms = append(f.Mechanisms, m)
			}
		}
		for _, v := range []cachestatus.Verdict{cachestatus.Hit, cachestatus.Collapsed, cachestatus.Stored, cachestatus.Passed} {
			if e := b.said[v]; e != "" {
				f.Evidence = append(f.Evidence, fmt.Sprintf("the cache said %s, e.g. %s", v, e))
			}
		}
		if n := len(f.Evidence); n > maxEvidence {
			f.Evidence = append(f.Evidence[:maxEvidence-1], fmt.Sprintf("… and %d more", n-maxEvidence+1))
		}
		out = append(out, f)
	}
	sortFindings(out)
	return out
}
