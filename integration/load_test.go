package integration

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// The mixed load: signed-in users and anonymous visitors on a small shop,
// through each cache with the fence in front of the origin.
const (
	loadUsers    = 60
	loadAnons    = 20
	loadClients  = 16   // concurrent connections
	loadRequests = 3200 // in all, after the warm-up
)

var (
	// Rendered for whoever asks; /api/me is asked with a bearer token.
	personalPages = []string{"/account", "/dashboard", "/wishlist", "/api/me",
		"/orders/1", "/orders/2", "/orders/3", "/orders/4", "/orders/5"}
	// The same for everyone, tagged public by the origin.
	publicPages = []string{"/", "/news/1", "/news/2", "/news/3", "/news/4", "/news/5",
		"/products/1", "/products/2", "/products/3", "/products/4", "/products/5"}
	// Under public_paths.
	assets = []string{"/static/app.css", "/static/app.js", "/static/logo.png", "/static/font.woff2",
		"/static/img/1.jpg", "/static/img/2.jpg", "/static/img/3.jpg", "/static/img/4.jpg"}
)

// The floors on what the caches report. After the warm-up every asset and
// public page is stored, so nearly all requests for them should be hits;
// the floors leave room for what concurrency may do and still fail if the
// fence made shared responses unstorable. Overall, about a third of the
// requests are personal pages, which must not be stored for signed-in
// users; the rest can all be hits.
const (
	minAssetHitRatio   = 0.9
	minPublicHitRatio  = 0.9
	minOverallHitRatio = 0.5
)

// planned is one request of the load.
type planned struct {
	v     visitor
	path  string
	class string // for the hit counts
}

// plan draws the load from a fixed seed, so that every run sends the same
// requests (in whatever order the clients get to them).
func plan() []planned {
	rng := rand.New(rand.NewPCG(2017, 1))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	out := make([]planned, loadRequests)
	for i := range out {
		var p planned
		if rng.IntN(4) == 0 { // a quarter of the traffic is anonymous
			p.v = anon(fmt.Sprintf("anon%02d", rng.IntN(loadAnons)+1))
			switch x := rng.IntN(100); {
			case x < 5:
				p.path, p.class = "/login", "login"
			case x < 15:
				p.path, p.class = pick(personalPages), "personal page, anonymous"
			case x < 50:
				p.path, p.class = pick(publicPages), "public page, anonymous"
			default:
				p.path, p.class = pick(assets), "asset, anonymous"
			}
		} else {
			p.v = user(fmt.Sprintf("u%02d", rng.IntN(loadUsers)+1))
			switch x := rng.IntN(100); {
			case x < 35:
				p.path, p.class = pick(personalPages), "personal page, signed in"
				p.v.bearer = p.path == "/api/me"
			case x < 60:
				p.path, p.class = pick(publicPages), "public page, signed in"
			default:
				p.path, p.class = pick(assets), "asset, signed in"
			}
		}
		out[i] = p
	}
	return out
}

func TestMixedLoad(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ cache, config string }{
		{"varnish", "varnish_site.vcl"},
		{"nginx", "nginx_default.conf"},
	} {
		t.Run(c.cache, func(t *testing.T) { runLoad(t, c.cache, c.config) })
	}
}

// tally counts responses and cache hits per class of request.
type tally struct {
	mu   sync.Mutex
	n    map[string]int
	hits map[string]int
}

func (ty *tally) add(class string, hit bool) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	ty.n[class]++
	if hit {
		ty.hits[class]++
	}
}

// ratio is the hit ratio over the given classes.
func (ty *tally) ratio(classes ...string) (float64, int) {
	n, hits := 0, 0
	for _, c := range classes {
		n += ty.n[c]
		hits += ty.hits[c]
	}
	if n == 0 {
		return 0, 0
	}
	return float64(hits) / float64(n), n
}

func runLoad(t *testing.T, kind, cfg string) {
	o := startOrigin(t)
	c := startCache(t, kind, cfg, caddyfileFence(t, o.port))
	ctx := testContext(t, 3*time.Minute) // a safety net for the requests, set after the set-up
	l := newLedger()

	// Warm-up: one anonymous visit to each shared URL, so that the hit
	// ratios below measure a warm cache.
	warm := anon("warmup")
	for _, p := range append(append([]string(nil), publicPages...), assets...) {
		r, err := warm.get(ctx, c, p)
		if err != nil || r.status != 200 {
			t.Fatalf("warm-up GET %s: status %d, %v", p, r.status, err)
		}
		l.record(warm, p, r)
	}

	ty := &tally{n: map[string]int{}, hits: map[string]int{}}
	var (
		errMu      sync.Mutex
		errs       []string
		anonCopies int // signed-in users served the anonymous version of a page
	)
	jobs := make(chan planned)
	var wg sync.WaitGroup
	for range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				r, err := p.v.get(ctx, c, p.path)
				if err == nil && r.status != 200 {
					err = fmt.Errorf("status %d", r.status)
				}
				if err != nil {
					errMu.Lock()
					errs = append(errs, fmt.Sprintf("%s GET %s: %v", p.v.name, p.path, err))
					errMu.Unlock()
					continue
				}
				l.record(p.v, p.path, r)
				ty.add(p.class, r.hit)
				if p.v.user != "" && r.owner == "anonymous" {
					errMu.Lock()
					anonCopies++
					errMu.Unlock()
				}
			}
		}()
	}
	for _, p := range plan() {
		jobs <- p
	}
	close(jobs)
	wg.Wait()

	// What the cache reports.
	var overall float64
	var source string
	if kind == "varnish" {
		st := c.varnishCounters(t, uint64(l.requests), "MAIN.cache_hit", "MAIN.cache_miss", "MAIN.cache_hitmiss", "MAIN.s_pass")
		hit, miss := st["MAIN.cache_hit"], st["MAIN.cache_miss"]
		overall = float64(hit) / float64(max(hit+miss, 1))
		source = fmt.Sprintf("varnishstat MAIN.cache_hit=%d MAIN.cache_miss=%d (of which hit-for-miss %d), MAIN.s_pass=%d",
			hit, miss, st["MAIN.cache_hitmiss"], st["MAIN.s_pass"])
	} else {
		var n, hits int
		for class := range ty.n {
			n += ty.n[class]
			hits += ty.hits[class]
		}
		overall = float64(hits) / float64(max(n, 1))
		source = fmt.Sprintf("X-Cache-Status: HIT on %d of %d responses", hits, n)
	}
	assetRatio, assetN := ty.ratio("asset, anonymous", "asset, signed in")
	assetUserRatio, assetUserN := ty.ratio("asset, signed in")
	publicRatio, publicN := ty.ratio("public page, anonymous")
	publicUserRatio, _ := ty.ratio("public page, signed in")
	personalRatio, _ := ty.ratio("personal page, signed in")

	report(t, "mixed_load %-7s %d requests from %d clients, %d leaked, %d errors; hit ratio %.2f (%s)",
		kind, l.requests, loadClients, l.leaks, len(errs), overall, source)
	report(t, "mixed_load %-7s HIT ratios: assets %.2f of %d (signed in %.2f of %d), public pages anonymous %.2f of %d, signed in %.2f, personal pages signed in %.2f; origin rendered %d pages; %d signed-in requests got an anonymous copy",
		kind, assetRatio, assetN, assetUserRatio, assetUserN, publicRatio, publicN, publicUserRatio, personalRatio, o.fetches.Load(), anonCopies)
	for _, class := range slices.Sorted(maps.Keys(ty.n)) {
		t.Logf("  %-26s %5d requests, %5d hits", class, ty.n[class], ty.hits[class])
	}

	if len(errs) > 0 {
		t.Errorf("%d requests failed:\n%s", len(errs), firstLines(errs, 20))
	}
	if l.leaks > 0 {
		t.Errorf("%d responses reached the wrong visitor through the fence:\n%s", l.leaks, firstLines(l.examples, 20))
	}
	for _, f := range []struct {
		what         string
		ratio, floor float64
	}{
		{"assets", assetRatio, minAssetHitRatio},
		{"assets asked with a session cookie", assetUserRatio, minAssetHitRatio},
		{"public pages asked anonymously", publicRatio, minPublicHitRatio},
		{"all requests, as the cache counts them", overall, minOverallHitRatio},
	} {
		if f.ratio < f.floor {
			t.Errorf("hit ratio of %s is %.2f, below %.2f: the fence is keeping shared responses out of the cache", f.what, f.ratio, f.floor)
		}
	}
}
