package probe

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"
)

// userAgent names the probe in every request it sends.
const userAgent = "cachefence-probe/1 (+https://github.com/cachefence/cachefence)"

// maxBody bounds how much of a response body is read for markers.
const maxBody = 4 << 20

// maxRedirects is how many same-host redirects a request follows.
const maxRedirects = 5

// Anonymous is the receiver name of requests without credentials.
const Anonymous = "anonymous"

// tokenPlaceholder stands for the random path-confusion token in reports,
// so that a finding reads the same in every run.
const tokenPlaceholder = "<token>"

// Prober runs the checks of one config.
type Prober struct {
	cfg *Config
	// edge reaches the site through its CDN; origin reaches origin_url.
	edge, origin *http.Client
	// slots bounds the requests in flight. A collapse burst takes all of
	// them, one burst at a time (burst), so that it is the only traffic.
	slots   chan struct{}
	burst   sync.Mutex
	stamp   *stampVerifier
	signals *cachestatus.Reader
}

// New returns a prober for cfg, as LoadConfig returns it.
func New(cfg *Config) *Prober {
	p := &Prober{
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.Concurrency),
		signals: cachestatus.New(cfg.CacheStatusHeaders),
	}
	base, _ := url.Parse(cfg.BaseURL)
	p.edge = newClient(time.Duration(cfg.Timeout), base.Host)
	if cfg.ConnectTo != "" {
		from, to, _ := cfg.dialOverride() // checked by validate
		p.edge.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == from {
				addr = to
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	if cfg.OriginURL != "" {
		origin, _ := url.Parse(cfg.OriginURL)
		p.origin = newClient(time.Duration(cfg.Timeout), origin.Host)
	}
	if cfg.OwnerStamp != nil {
		policy, _ := cfg.OwnerStamp.policy() // checked by validate
		p.stamp = &stampVerifier{
			key:    []byte(cfg.OwnerStamp.Key),
			header: http.CanonicalHeaderKey(cmp.Or(cfg.OwnerStamp.Header, fence.DefaultStampHeader)),
			policy: policy,
		}
	}
	return p
}

// newClient returns a client that follows redirects on host only, five at
// most, and never from https to plain http: net/http would send the test
// accounts' cookies and Authorization on, in clear, since the host is the
// same. Connections go where the URL says; connect_to replaces the dialer.
func newClient(timeout time.Duration, host string) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // the probe checks the site, not a proxy in between
	return &http.Client{
		Timeout:   timeout,
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host || len(via) > maxRedirects || downgrades(req, via) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// downgrades reports a redirect to a scheme other than https after a
// request that used it.
func downgrades(req *http.Request, via []*http.Request) bool {
	return req.URL.Scheme != "https" && slices.ContainsFunc(via, func(r *http.Request) bool { return r.URL.Scheme == "https" })
}

// How a response was fetched; the analysis names mechanisms after it.
const (
	viaSequential    = "sequential"     // one request at a time, through the edge
	viaBurst         = "burst"          // a collapse burst, through the edge
	viaPathConfusion = "path_confusion" // a static-looking suffix, through the edge
	viaPublic        = "public"         // a public URL, through the edge
	viaOrigin        = "origin"         // straight from origin_url
)

// observation is one response as the analysis needs it: facts, no body.
type observation struct {
	target   string    // the configured URL, absolute
	suffix   string    // the path-confusion suffix, token as tokenPlaceholder
	via      string    // one of the via constants
	receiver *Identity // nil: anonymous
	status   int
	header   http.Header
	signal   cachestatus.Signal
	body     [sha256.Size]byte
	// markers maps an identity's name to the number (from 1) of the
	// first of its markers the body holds.
	markers map[string]int
	// stamped: the response carries an owner stamp; stampFor names whom
	// it verifies for (an identity or Anonymous), "" for no one known.
	stamped  bool
	stampFor string
	// cookies are the Set-Cookie name=value pairs.
	cookies []string
	// guard is the edge guard's verdict (fence.GuardHeader), "" for none.
	guard string
}

func (o *observation) receiverName() string {
	if o.receiver == nil {
		return Anonymous
	}
	return o.receiver.Name
}

// run collects one run's observations; its methods are safe for
// concurrent use.
type run struct {
	// token is this run's path-confusion token.
	token    string
	mu       sync.Mutex
	obs      []*observation
	errors   []string
	requests int
}

func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, err.Error())
}

func (r *run) record(o *observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if o != nil {
		r.obs = append(r.obs, o)
	}
}

// Run checks every URL once and reports what it found.
func (p *Prober) Run(ctx context.Context) *Report {
	start := time.Now()
	r := &run{token: randomToken()}
	var wg sync.WaitGroup
	for _, ref := range p.cfg.PersonalURLs {
		u, _ := p.cfg.resolve(ref)
		wg.Go(func() {
			target := u.String()
			if p.cfg.runs(CheckPersonal) {
				p.checkPersonal(ctx, r, target, "", viaSequential, p.cfg.Identities)
			}
			if p.origin != nil {
				p.checkOrigin(ctx, r, target)
			}
			if p.cfg.runs(CheckCollapse) {
				p.checkCollapse(ctx, r, target)
			}
			if p.cfg.runs(CheckPathConfusion) {
				for _, v := range confusionVariants(u) {
					// One owner is enough for the variants.
					p.checkPersonal(ctx, r, target, v, viaPathConfusion, p.cfg.Identities[:1])
				}
			}
		})
	}
	if p.cfg.runs(CheckPublic) {
		for _, ref := range p.cfg.PublicURLs {
			u, _ := p.cfg.resolve(ref)
			wg.Go(func() { p.checkPublic(ctx, r, u.String()) })
		}
	}
	wg.Wait()
	report := p.analyze(r.obs)
	report.Started, report.Duration, report.Requests = start, time.Since(start).Round(time.Millisecond).String(), r.requests
	report.site = p.cfg.BaseURL
	report.Errors = append(r.errors, report.Errors...)
	return report
}

func randomToken() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// confusionVariants are the suffixes a cache may key as a static file while
// the origin still serves the personal page (web cache deception), with
// tokenPlaceholder for the token. The random token gives each run fresh
// cache keys.
func confusionVariants(u *url.URL) []string {
	if u.RawQuery != "" || u.Fragment != "" {
		return nil // suffixes would land in the query
	}
	name := "cachefence-" + tokenPlaceholder
	return []string{
		"/" + name + ".css",
		";" + name + ".css",
		"%2F" + name + ".css",
		".css",
		"?" + name + ".css",
		"/" + name + ".js",
		"%3B" + name + ".png",
	}
}

// withSuffix is target with a path-confusion suffix, token filled in.
func withSuffix(target, suffix, token string) string {
	if suffix == "" {
		return target
	}
	return strings.TrimSuffix(target, "/") + strings.ReplaceAll(suffix, tokenPlaceholder, token)
}

// fetch sends one GET through client as id (nil: anonymous) within the
// concurrency bound, and records what came back.
func (p *Prober) fetch(ctx context.Context, r *run, client *http.Client, target, suffix, via string, id *Identity) {
	if !p.acquire(ctx, r) {
		return
	}
	defer func() { <-p.slots }()
	p.fetchNow(ctx, r, client, target, suffix, via, id)
}

// fetchAt fetches the origin's copy of target (at) within the concurrency
// bound, and records it as target's.
func (p *Prober) fetchAt(ctx context.Context, r *run, at, target string, id *Identity) {
	if !p.acquire(ctx, r) {
		return
	}
	defer func() { <-p.slots }()
	p.record(ctx, r, p.origin, at, target, "", viaOrigin, id)
}

// acquire takes a request slot, or fails the run when ctx ends first.
func (p *Prober) acquire(ctx context.Context, r *run) bool {
	select {
	case p.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		r.fail(ctx.Err())
		return false
	}
}

// fetchNow sends one GET as id at once, outside the concurrency bound.
func (p *Prober) fetchNow(ctx context.Context, r *run, client *http.Client, target, suffix, via string, id *Identity) {
	p.record(ctx, r, client, withSuffix(target, suffix, r.token), target, suffix, via, id)
}

// record fetches u and records the response as one of target's.
func (p *Prober) record(ctx context.Context, r *run, client *http.Client, u, target, suffix, via string, id *Identity) {
	o, err := p.do(ctx, client, u, id)
	if err != nil {
		// The error names the URL (token hidden), never the credentials.
		if suffix != "" {
			u = withSuffix(target, suffix, tokenPlaceholder)
		}
		r.fail(fmt.Errorf("GET %s as %s (%s): %w", u, nameOf(id), via, err))
		r.record(nil)
		return
	}
	o.target, o.suffix, o.via = target, suffix, via
	r.record(o)
}

func nameOf(id *Identity) string {
	if id == nil {
		return Anonymous
	}
	return id.Name
}

// do sends one GET and reads what the analysis needs from the response.
func (p *Prober) do(ctx context.Context, client *http.Client, target string, id *Identity) (*observation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range p.cfg.RequestHeaders {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", userAgent)
	if id != nil {
		maps.Copy(req.Header, identityHeader(id))
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, token and all; the caller names it.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	o := &observation{receiver: id, status: resp.StatusCode, header: resp.Header,
		signal: p.signals.Read(resp.Header), body: sha256.Sum256(body), markers: map[string]int{},
		cookies: setCookiePairs(resp.Header)}
	switch v := resp.Header.Get(fence.GuardHeader); v {
	case fence.GuardRefused, fence.GuardPassed:
		o.guard = v
	}
	for _, other := range p.cfg.Identities {
		for n, m := range other.Markers {
			if strings.Contains(string(body), m) {
				o.markers[other.Name] = n + 1
				break
			}
		}
	}
	if p.stamp != nil {
		// The stamp is checked against the request as it was finally
		// sent, after redirects.
		o.stampFor, o.stamped = p.stamp.whose(resp.Request.Header, resp.Request.URL, resp.Header, id, p.cfg.Identities)
	}
	return o, nil
}

// checkPersonal primes the cache as each owner (twice), then asks as the
// other identities and anonymously.
func (p *Prober) checkPersonal(ctx context.Context, r *run, target, suffix, via string, owners []Identity) {
	for i := range owners {
		owner := &owners[i]
		for range 2 {
			p.fetch(ctx, r, p.edge, target, suffix, via, owner)
		}
		for j := range p.cfg.Identities {
			if other := &p.cfg.Identities[j]; other.Name != owner.Name {
				p.fetch(ctx, r, p.edge, target, suffix, via, other)
			}
		}
		p.fetch(ctx, r, p.edge, target, suffix, via, nil)
	}
}

// checkOrigin fetches target straight from origin_url as each identity,
// so that the origin's own headers are judged where they are set.
func (p *Prober) checkOrigin(ctx context.Context, r *run, target string) {
	at := atOrigin(target, p.cfg.OriginURL)
	for i := range p.cfg.Identities {
		p.fetchAt(ctx, r, at, target, &p.cfg.Identities[i])
	}
}

// atOrigin is target's path and query on origin.
func atOrigin(target, origin string) string {
	u, _ := url.Parse(target)
	o, _ := url.Parse(origin)
	u.Scheme, u.Host = o.Scheme, o.Host
	return u.String()
}

// checkCollapse fires every identity and an anonymous visitor at the same
// instant, several rounds: a cache that collapses concurrent misses hands
// the first response to all of them.
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
				p.fetchNow(ctx, r, p.edge, target, "", viaBurst, id)
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

// checkPublic asks twice anonymously, and once at the origin when
// origin_url is set: the page should be storable by a shared cache.
func (p *Prober) checkPublic(ctx context.Context, r *run, target string) {
	for range 2 {
		p.fetch(ctx, r, p.edge, target, "", viaPublic, nil)
	}
	if p.origin != nil {
		p.fetchAt(ctx, r, atOrigin(target, p.cfg.OriginURL), target, nil)
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

// stampVerifier checks cache_fence owner stamps.
type stampVerifier struct {
	key    []byte
	header string
	policy *fence.Policy
}

// whose says whom the owner stamp of a response (headers resp) was made
// for: the receiver id (nil: anonymous) that sent the request (header h,
// URL u), another identity, Anonymous, or "" when no known credentials
// verify it. stamped is false when the response carries no stamp.
func (s *stampVerifier) whose(h http.Header, u *url.URL, resp http.Header, id *Identity, ids []Identity) (owner string, stamped bool) {
	stamp := resp.Get(s.header)
	if stamp == "" {
		return "", false
	}
	if fence.VerifyOwnerStamp(s.key, s.policy.Identity(h, u), stamp) {
		return nameOf(id), true
	}
	for i := range ids {
		if fence.VerifyOwnerStamp(s.key, s.policy.Identity(identityHeader(&ids[i]), u), stamp) {
			return ids[i].Name, true
		}
	}
	if fence.VerifyOwnerStamp(s.key, s.policy.Identity(http.Header{}, u), stamp) {
		return Anonymous, true
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
