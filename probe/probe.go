package probe

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/cachecontrol"
	"github.com/pquerna/cachecontrol/cacheobject"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"
)

// UserAgent names the probe in every request it sends.
const UserAgent = "cachefence-probe/1 (+https://github.com/cachefence/cachefence)"

// maxBody bounds how much of a response body is read for markers.
const maxBody = 4 << 20

// maxRedirects is how many same-host redirects a request follows.
const maxRedirects = 5

// The checks a finding can come from.
const (
	CheckPersonal      = "personal"
	CheckCollapse      = "collapse"
	CheckPathConfusion = "path_confusion"
	CheckPublic        = "public"
)

// The kinds of finding.
const (
	// KindLeak: a page or cookie of one identity reached another, or an
	// anonymous visitor.
	KindLeak = "leak"
	// KindCached: a personal page was served from a shared cache.
	KindCached = "cached"
	// KindUnsafeHeaders: a personal page's headers let a shared cache
	// store it.
	KindUnsafeHeaders = "unsafe_headers"
	// KindNotCacheable: a public page will not be cached.
	KindNotCacheable = "not_cacheable"
)

// The severities.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityWarning  = "warning"
)

// Anonymous is the receiver name of requests without credentials.
const Anonymous = "anonymous"

// Finding is one thing the probe saw. It holds no secret: identities are
// named, markers are numbered, cookies are named without their values.
type Finding struct {
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Check    string `json:"check"`
	URL      string `json:"url"`
	// Owner is the identity whose page it was, if known.
	Owner string `json:"owner,omitempty"`
	// Receiver is the identity (or "anonymous") that received it.
	Receiver string `json:"receiver,omitempty"`
	Evidence string `json:"evidence"`
}

// Key identifies a finding across runs, for alerting once.
func (f Finding) Key() string {
	return strings.Join([]string{f.Kind, f.Check, f.URL, f.Owner, f.Receiver}, "|")
}

// Report is the result of one run.
type Report struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Requests int       `json:"requests"`
	Findings []Finding `json:"findings"`
	// Errors are requests that failed; a run with errors is incomplete.
	Errors []string `json:"errors,omitempty"`
}

// Prober runs the checks of one config.
type Prober struct {
	cfg    *Config
	client *http.Client
	// slots bounds the requests in flight. A collapse burst takes all of
	// them, one burst at a time (burst), so that it is the only traffic.
	slots chan struct{}
	burst sync.Mutex
	stamp *stampVerifier
}

// New returns a prober for cfg, which must have passed Validate.
func New(cfg *Config) *Prober {
	base, _ := url.Parse(cfg.BaseURL)
	p := &Prober{
		cfg:   cfg,
		slots: make(chan struct{}, cfg.Concurrency),
		client: &http.Client{
			Timeout: time.Duration(cfg.Timeout),
			// Follow redirects on the same host only, five at most.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if req.URL.Host != base.Host || len(via) > maxRedirects {
					return http.ErrUseLastResponse
				}
				return nil
			},
		},
	}
	if cfg.OwnerStamp != nil {
		// Validate checked the policy.
		policy, _ := cfg.OwnerStamp.policy()
		p.stamp = &stampVerifier{
			key:    []byte(cfg.OwnerStamp.Key),
			header: http.CanonicalHeaderKey(cmp.Or(cfg.OwnerStamp.Header, fence.DefaultStampHeader)),
			policy: policy,
		}
	}
	return p
}

// run collects the findings and errors of one run; its methods are safe
// for concurrent use.
type run struct {
	mu       sync.Mutex
	findings map[string]Finding
	errors   []string
	requests int
	// setCookies holds, per identity, the Set-Cookie pairs minted for it.
	setCookies map[string]map[string]bool
	// answered counts the responses each identity received, and
	// recognised those that showed its own markers or owner stamp: an
	// identity never recognised is probably logged out, and then every
	// check of its pages passes for the wrong reason.
	answered, recognised map[string]int
	// stamps counts the owner stamps seen, and stampsVerified those made
	// with the configured key for a known identity.
	stamps, stampsVerified int
}

func (r *run) add(f Finding) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.findings[f.Key()]; !dup {
		r.findings[f.Key()] = f
	}
}

func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, err.Error())
}

// observed is one response as the probe saw it.
type observed struct {
	url      string
	receiver *Identity // nil for anonymous
	request  http.Header
	status   int
	header   http.Header
	body     string
}

func (o *observed) receiverName() string {
	if o.receiver == nil {
		return Anonymous
	}
	return o.receiver.Name
}

// Run checks every URL once and reports what it found.
func (p *Prober) Run(ctx context.Context) *Report {
	start := time.Now()
	r := &run{findings: map[string]Finding{}, setCookies: map[string]map[string]bool{},
		answered: map[string]int{}, recognised: map[string]int{}}
	token := randomToken()
	var wg sync.WaitGroup
	for _, ref := range p.cfg.PersonalURLs {
		u, _ := p.cfg.resolve(ref)
		wg.Go(func() {
			p.checkPersonal(ctx, r, u.String(), CheckPersonal)
			if p.cfg.CollapseRounds > 0 {
				p.checkCollapse(ctx, r, u.String())
			}
			if p.cfg.PathConfusion == nil || *p.cfg.PathConfusion {
				for _, variant := range confusionVariants(u, token) {
					p.checkPersonal(ctx, r, variant, CheckPathConfusion)
				}
			}
		})
	}
	for _, ref := range p.cfg.PublicURLs {
		u, _ := p.cfg.resolve(ref)
		wg.Go(func() { p.checkPublic(ctx, r, u.String()) })
	}
	wg.Wait()
	p.checkSetup(r)

	report := &Report{Started: start, Duration: time.Since(start).Round(time.Millisecond).String(),
		Requests: r.requests, Errors: r.errors, Findings: make([]Finding, 0, len(r.findings))}
	for _, f := range r.findings {
		report.Findings = append(report.Findings, f)
	}
	slices.SortFunc(report.Findings, func(a, b Finding) int {
		if c := severityRank(b.Severity) - severityRank(a.Severity); c != 0 {
			return c
		}
		return strings.Compare(a.Key(), b.Key())
	})
	return report
}

func severityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 3
	case SeverityHigh:
		return 2
	}
	return 1
}

func randomToken() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// confusionVariants are the suffixes a cache may key as a static file while
// the origin still serves the personal page (web cache deception). The
// random token gives each run fresh cache keys.
func confusionVariants(u *url.URL, token string) []string {
	name := "cachefence-" + token
	base := strings.TrimSuffix(u.String(), "/")
	if u.RawQuery != "" || u.Fragment != "" {
		return nil // suffixes would land in the query
	}
	return []string{
		base + "/" + name + ".css",
		base + ";" + name + ".css",
		base + "%2F" + name + ".css",
		base + ".css",
		base + "?" + name + ".css",
		base + "/" + name + ".js",
		base + "%3B" + name + ".png",
	}
}

// fetch sends one GET as id (nil: anonymous) and reads the response.
func (p *Prober) fetch(ctx context.Context, r *run, target string, id *Identity) (*observed, bool) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		r.fail(ctx.Err())
		return nil, false
	}
	defer func() { <-p.slots }()
	o, err := p.do(ctx, target, id)
	r.mu.Lock()
	r.requests++
	r.mu.Unlock()
	if err != nil {
		who := Anonymous
		if id != nil {
			who = id.Name
		}
		// The URL error names the URL, never the credentials sent.
		r.fail(fmt.Errorf("GET %s as %s: %w", target, who, err))
		return nil, false
	}
	return o, true
}

func (p *Prober) do(ctx context.Context, target string, id *Identity) (*observed, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent)
	if id != nil {
		for k, vs := range identityHeader(id) {
			req.Header[k] = vs
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	return &observed{url: target, receiver: id, request: req.Header, status: resp.StatusCode,
		header: resp.Header, body: string(body)}, nil
}

// checkPersonal primes the cache as each identity, then asks as the others
// and anonymously, and looks for leaks, cache hits and unsafe headers.
func (p *Prober) checkPersonal(ctx context.Context, r *run, target, check string) {
	for i := range p.cfg.Identities {
		owner := &p.cfg.Identities[i]
		var primed *observed
		for range 2 {
			o, ok := p.fetch(ctx, r, target, owner)
			if !ok {
				return
			}
			p.inspect(r, o, check)
			primed = o
		}
		if sig := cachestatus.Read(primed.header); sig.Verdict == cachestatus.Hit && primed.status < 300 {
			r.add(Finding{Severity: SeverityHigh, Kind: KindCached, Check: check, URL: target,
				Owner: owner.Name, Receiver: owner.Name,
				Evidence: "a request as " + owner.Name + " for its own page was answered from a shared cache: " + sig.Evidence})
		}
		if check == CheckPersonal && primed.status < 300 {
			if problems := unsafeHeaders(primed.header); len(problems) > 0 {
				r.add(Finding{Severity: SeverityWarning, Kind: KindUnsafeHeaders, Check: check, URL: target,
					Owner: owner.Name, Receiver: owner.Name, Evidence: strings.Join(problems, "; ")})
			}
		}
		for j := range p.cfg.Identities {
			if j == i {
				continue
			}
			if o, ok := p.fetch(ctx, r, target, &p.cfg.Identities[j]); ok {
				p.inspect(r, o, check)
			}
		}
		if o, ok := p.fetch(ctx, r, target, nil); ok {
			p.inspect(r, o, check)
		}
		if check == CheckPathConfusion {
			return // one owner is enough for the variants
		}
	}
}

// checkCollapse fires every identity and an anonymous visitor at the same
// instant, several rounds: a cache that collapses concurrent misses hands
// the first response to all of them, with no hit ever visible.
func (p *Prober) checkCollapse(ctx context.Context, r *run, target string) {
	receivers := []*Identity{nil}
	for i := range p.cfg.Identities {
		receivers = append(receivers, &p.cfg.Identities[i])
	}
	for range p.cfg.CollapseRounds {
		if !p.acquireAll(ctx, r) {
			return
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, id := range receivers {
			wg.Go(func() {
				<-start
				// Not one slot each: the point is to arrive together.
				o, err := p.do(ctx, target, id)
				r.mu.Lock()
				r.requests++
				r.mu.Unlock()
				if err != nil {
					r.fail(fmt.Errorf("GET %s (collapse test): %w", target, err))
					return
				}
				p.inspect(r, o, CheckCollapse)
			})
		}
		close(start)
		wg.Wait()
		p.releaseAll()
	}
}

// acquireAll takes every request slot, so that a collapse burst is the only
// traffic in flight, and bursts of different URLs go one at a time.
func (p *Prober) acquireAll(ctx context.Context, r *run) bool {
	p.burst.Lock()
	for n := range cap(p.slots) {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			for range n {
				<-p.slots
			}
			p.burst.Unlock()
			r.fail(ctx.Err())
			return false
		}
	}
	return true
}

func (p *Prober) releaseAll() {
	for range cap(p.slots) {
		<-p.slots
	}
	p.burst.Unlock()
}

// inspect records what o reveals: foreign markers, foreign cookies, a
// foreign owner stamp.
func (p *Prober) inspect(r *run, o *observed, check string) {
	receiver := o.receiverName()
	mint := setCookiePairs(o.header)
	if o.receiver != nil && len(mint) > 0 {
		r.mu.Lock()
		if r.setCookies[receiver] == nil {
			r.setCookies[receiver] = map[string]bool{}
		}
		for _, pair := range mint {
			r.setCookies[receiver][pair] = true
		}
		r.mu.Unlock()
	}
	stampOwner, stamped := "", false
	if p.stamp != nil {
		stampOwner, stamped = p.stamp.whose(o, p.cfg.Identities)
	}
	p.recognise(r, o, stamped, stampOwner)
	signal := cachestatus.Read(o.header)
	leak := func(owner, evidence string) {
		if signal.Evidence != "" {
			evidence += "; cache said " + string(signal.Verdict) + " (" + signal.Evidence + ")"
		}
		r.add(Finding{Severity: SeverityCritical, Kind: KindLeak, Check: check, URL: o.url,
			Owner: owner, Receiver: receiver, Evidence: evidence})
	}
	for i := range p.cfg.Identities {
		other := &p.cfg.Identities[i]
		if other == o.receiver {
			continue
		}
		for n, m := range other.Markers {
			if strings.Contains(o.body, m) {
				leak(other.Name, fmt.Sprintf("the body holds %s's marker #%d", other.Name, n+1))
				break
			}
		}
		for _, pair := range mint {
			name, value, _ := strings.Cut(pair, "=")
			r.mu.Lock()
			minted := r.setCookies[other.Name][pair]
			r.mu.Unlock()
			if minted || (value != "" && other.Cookies[name] == value) {
				leak(other.Name, fmt.Sprintf("a Set-Cookie for cookie %q carries %s's value", name, other.Name))
			}
		}
	}
	if stamped && stampOwner != receiver {
		leak(cmp.Or(stampOwner, "someone else"), fmt.Sprintf("the owner stamp (%s) was not made for %s", p.stamp.header, receiver))
	}
}

// recognise records whether o, received by an identity, shows that
// identity's own markers or an owner stamp made for it, and whether its
// stamp, if any, verified for anyone known.
func (p *Prober) recognise(r *run, o *observed, stamped bool, stampOwner string) {
	own := false
	if o.receiver != nil {
		own = stamped && stampOwner == o.receiver.Name
		for _, m := range o.receiver.Markers {
			own = own || strings.Contains(o.body, m)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if stamped {
		r.stamps++
		if stampOwner != "" {
			r.stampsVerified++
		}
	}
	if o.receiver != nil {
		r.answered[o.receiver.Name]++
		if own {
			r.recognised[o.receiver.Name]++
		}
	}
}

// checkSetup reports, as errors, what makes a run's silence meaningless: an
// identity that never saw its own page (an expired login, credentials that
// do not log in, personal URLs that redirect elsewhere), and owner stamps
// that no identity's credentials verify (a key that is not the fence's).
func (p *Prober) checkSetup(r *run) {
	leakedTo := map[string]bool{}
	for _, f := range r.findings {
		if f.Kind == KindLeak {
			leakedTo[f.Receiver] = true
		}
	}
	for _, id := range p.cfg.Identities {
		// An identity served someone else's page may never see its own:
		// that is the leak, already reported.
		if r.answered[id.Name] > 0 && r.recognised[id.Name] == 0 && !leakedTo[id.Name] {
			r.fail(fmt.Errorf("identity %s: none of its %d responses showed its markers or its owner stamp; "+
				"check that its credentials still log in and that the personal URLs render its pages", id.Name, r.answered[id.Name]))
		}
	}
	if r.stamps > 0 && r.stampsVerified == 0 {
		r.fail(fmt.Errorf("none of the %d owner stamps seen verifies for any identity: "+
			"check that owner_stamp.key, session_cookies and ignore_cookies are the fence's", r.stamps))
	}
}

// setCookiePairs returns the name=value of each Set-Cookie.
func setCookiePairs(h http.Header) []string {
	var pairs []string
	for _, line := range h.Values("Set-Cookie") {
		pair, _, _ := strings.Cut(line, ";")
		if pair = strings.TrimSpace(pair); pair != "" {
			pairs = append(pairs, pair)
		}
	}
	return pairs
}

// unsafeHeaders lists what lets a shared cache store a personal page.
func unsafeHeaders(h http.Header) []string {
	var problems []string
	cc := strings.Join(h.Values("Cache-Control"), ", ")
	parsed, err := cacheobject.ParseResponseCacheControl(cc)
	switch {
	case cc == "":
		problems = append(problems, "no Cache-Control: caches apply heuristics or default TTLs")
	case err != nil:
		problems = append(problems, fmt.Sprintf("Cache-Control %q does not parse", cc))
	case !parsed.NoStore || !parsed.PrivatePresent || len(parsed.Private) > 0:
		problems = append(problems, fmt.Sprintf("Cache-Control %q lacks private and no-store", cc))
	}
	for _, name := range []string{"Surrogate-Control", "Cdn-Cache-Control", "Cloudflare-Cdn-Cache-Control", "Edge-Control"} {
		if v := strings.Join(h.Values(name), ", "); v != "" && !strings.Contains(strings.ToLower(v), "no-store") {
			problems = append(problems, fmt.Sprintf("%s %q overrides Cache-Control at the caches that read it", name, v))
		}
	}
	if v := h.Get("X-Accel-Expires"); v != "" && strings.TrimSpace(v) != "0" {
		problems = append(problems, fmt.Sprintf("X-Accel-Expires %q makes nginx store it", v))
	}
	return problems
}

// checkPublic asks twice anonymously: the page should be storable by a
// shared cache, and a cache should not be passing it.
func (p *Prober) checkPublic(ctx context.Context, r *run, target string) {
	var o *observed
	for range 2 {
		var ok bool
		if o, ok = p.fetch(ctx, r, target, nil); !ok {
			return
		}
		p.inspect(r, o, CheckPublic)
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	reasons, _, err := cachecontrol.CachableResponse(req, &http.Response{StatusCode: o.status, Header: o.header},
		cachecontrol.Options{PrivateCache: false})
	var why []string
	if err != nil {
		why = append(why, "caching headers do not parse: "+err.Error())
	}
	for _, reason := range reasons {
		why = append(why, describeReason(reason, o.status))
	}
	why = append(why, unreusable(o.header)...)
	if sig := cachestatus.Read(o.header); sig.Verdict == cachestatus.Passed {
		why = append(why, "the cache passed it: "+sig.Evidence)
	}
	if len(why) > 0 {
		r.add(Finding{Severity: SeverityWarning, Kind: KindNotCacheable, Check: CheckPublic, URL: target,
			Receiver: Anonymous, Evidence: strings.Join(why, "; ")})
	}
}

// describeReason says in words why RFC 9111 forbids a shared cache to
// store a response.
func describeReason(reason cacheobject.Reason, status int) string {
	switch reason {
	case cacheobject.ReasonResponseNoStore:
		return "Cache-Control: no-store"
	case cacheobject.ReasonResponsePrivate:
		return "Cache-Control: private"
	case cacheobject.ReasonResponseUncachableByDefault:
		return fmt.Sprintf("status %d is not cacheable by default and no explicit freshness is given", status)
	}
	return reason.String()
}

// unreusable lists what keeps a storable public page from being reused, or
// from being stored in practice.
func unreusable(h http.Header) []string {
	var why []string
	for _, v := range h.Values("Vary") {
		for name := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(name) == "*" {
				why = append(why, "Vary: * means no stored response can be reused (RFC 9111 §4.1)")
			}
		}
	}
	if len(h.Values("Set-Cookie")) > 0 {
		why = append(why, "it sets a cookie: cache_fence fences it, and most CDNs do not store it")
	}
	if cc, err := cacheobject.ParseResponseCacheControl(strings.Join(h.Values("Cache-Control"), ", ")); err == nil {
		if cc.SMaxAge == 0 || (cc.SMaxAge == -1 && cc.MaxAge == 0) {
			why = append(why, "its shared-cache lifetime (s-maxage or max-age) is 0: every reuse waits for the origin")
		}
	}
	return why
}

// stampVerifier checks cache_fence owner stamps.
type stampVerifier struct {
	key    []byte
	header string
	policy *fence.Policy
}

// whose says whom the owner stamp on o was made for: its receiver (by
// name, Anonymous included), another identity, or "" when no known
// credentials verify it. stamped is false when o carries no stamp.
func (s *stampVerifier) whose(o *observed, ids []Identity) (owner string, stamped bool) {
	stamp := o.header.Get(s.header)
	if stamp == "" {
		return "", false
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return "", true
	}
	if fence.VerifyOwnerStamp(s.key, s.policy.Identity(o.request, u), stamp) {
		return o.receiverName(), true
	}
	for i := range ids {
		if fence.VerifyOwnerStamp(s.key, s.policy.Identity(identityHeader(&ids[i]), u), stamp) {
			return ids[i].Name, true
		}
	}
	return "", true
}

// identityHeader is the credentials part of a request as id: its headers
// and one Cookie line, sorted by name so requests are reproducible.
func identityHeader(id *Identity) http.Header {
	h := http.Header{}
	names := slices.Sorted(maps.Keys(id.Cookies))
	pairs := make([]string, len(names))
	for i, name := range names {
		pairs[i] = name + "=" + id.Cookies[name]
	}
	if len(pairs) > 0 {
		h.Set("Cookie", strings.Join(pairs, "; "))
	}
	for k, v := range id.Headers {
		h.Set(k, v)
	}
	return h
}
