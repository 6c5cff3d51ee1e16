package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// scenario is one way a shared cache has served a page to the wrong user.
type scenario struct {
	name     string
	cache    string // "varnish" or "nginx"
	config   string // in testdata
	path     string
	visitors []visitor
	together bool // all visitors at once (behind a barrier), else one after another
}

var scenarios = []scenario{{
	name:     "2017_cdn",
	cache:    "varnish",
	config:   "varnish_2017.vcl",
	path:     "/account", // no-cache, Expires in the past
	visitors: []visitor{user("alice"), user("bob"), user("carol")},
}, {
	name:     "varnish_surrogate_only",
	cache:    "varnish",
	config:   "varnish_surrogate_only.vcl",
	path:     "/account", // no-cache, Expires in the past, no Surrogate-Control
	visitors: []visitor{user("alice"), user("bob"), user("carol")},
}, {
	name:     "varnish_builtin_surrogate",
	cache:    "varnish",
	config:   "varnish_site.vcl",
	path:     "/dashboard", // private, Surrogate-Control: max-age=3600
	visitors: []visitor{user("alice"), user("bob"), user("carol")},
}, {
	name:     "nginx_x_accel_expires",
	cache:    "nginx",
	config:   "nginx_default.conf",
	path:     "/orders/42", // private, X-Accel-Expires: 3600
	visitors: []visitor{user("alice"), user("bob"), user("carol")},
}, {
	name:     "login_set_cookie",
	cache:    "nginx",
	config:   "nginx_login.conf",
	path:     "/login", // Set-Cookie: session=<new>, public, max-age=300
	visitors: []visitor{anon("visitor1"), anon("visitor2"), anon("visitor3")},
}, {
	name:     "collapsing",
	cache:    "varnish",
	config:   "varnish_microcache.vcl",
	path:     "/live", // slow, no-cache, Expires in the past
	visitors: crowd(8),
	together: true,
}, {
	name:     "collapsing_nginx",
	cache:    "nginx",
	config:   "nginx_microcache.conf",
	path:     "/live",
	visitors: crowd(8),
	together: true,
}}

// crowd is n distinct signed-in users.
func crowd(n int) []visitor {
	vs := make([]visitor, n)
	for i := range vs {
		vs[i] = user(fmt.Sprintf("user%d", i+1))
	}
	return vs
}

// variants are the set-ups each scenario runs in: the cache straight on
// the origin, then with cachefence between them, configured by a Caddyfile
// or as the one-line sidecar.
var variants = []struct {
	name  string
	fence fenceFunc // nil: no fence
}{
	{"without_fence", nil},
	{"with_fence", caddyfileFence},
	{"with_sidecar", sidecarFence},
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					l := runScenario(t, sc, v.fence)
					report(t, "scenario %-26s %-14s %-8s %d of %d responses leaked",
						sc.name, v.name, sc.cache, l.leaks, l.requests)
					switch {
					case v.fence == nil && l.leaks == 0:
						t.Fatalf("no leak without the fence: the harness cannot see the leak this scenario is about")
					case v.fence != nil && l.leaks > 0:
						t.Fatalf("%d responses reached the wrong visitor through the fence:\n%s", l.leaks, firstLines(l.examples, 20))
					}
				})
			}
		})
	}
}

// runScenario builds origin → [fence →] cache, lets the visitors fetch the
// scenario's page, and books what each got.
func runScenario(t *testing.T, sc scenario, fence fenceFunc) *ledger {
	o := startOrigin(t)
	backend := o.port
	if fence != nil {
		backend = fence(t, o.port)
	}
	c := startCache(t, sc.cache, sc.config, backend)
	// Bounds the visits only: the set-up above may include building the
	// binary from a cold cache.
	ctx := testContext(t, 2*time.Minute)

	l := newLedger()
	visit := func(v visitor) {
		r, err := v.get(ctx, c, sc.path)
		if err != nil {
			t.Errorf("%s: GET %s: %v", v.name, sc.path, err)
			return
		}
		leaked := l.record(v, sc.path, r)
		t.Logf("%-9s got status=%d owner=%s session=%q cache_hit=%v fence=%q leak=%v",
			v.name, r.status, r.owner, r.session, r.hit, r.verdict, leaked)
		if r.status != 200 {
			t.Errorf("%s: GET %s: status %d", v.name, sc.path, r.status)
		}
	}
	if !sc.together {
		for _, v := range sc.visitors {
			visit(v)
		}
	} else {
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		for _, v := range sc.visitors {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				visit(v)
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
	}
	t.Logf("origin rendered %d pages for %d requests", o.fetches.Load(), len(sc.visitors))
	if t.Failed() {
		t.FailNow()
	}
	return l
}
