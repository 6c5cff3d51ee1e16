package alert

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestParseSeverity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Severity
		err  string
	}{
		{"critical", Critical, ""},
		{"HIGH", High, ""},
		{"medium", Medium, ""},
		{"low", Low, ""},
		{"warning", "", `unknown severity "warning" (want critical, high, medium, low, info)`},
		{"info", Info, ""},
		{"severe", "", `unknown severity "severe" (want critical, high, medium, low, info)`},
		{"", "", `unknown severity ""`},
	} {
		got, err := ParseSeverity(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	for _, tc := range []struct {
		s, min Severity
		want   bool
	}{
		{Critical, Low, true}, {Low, Low, true}, {Info, Low, false},
		{Medium, High, false}, {High, Medium, true}, {Info, Info, true},
	} {
		if got := tc.s.AtLeast(tc.min); got != tc.want {
			t.Errorf("%s.AtLeast(%s) = %v", tc.s, tc.min, got)
		}
	}
}

// hook is a webhook receiver on 127.0.0.1 that records the messages, and
// fails while down is set.
type hook struct {
	url  string
	down atomic.Bool
	mu   sync.Mutex
	msgs []Message
	hits atomic.Int64
}

func startHook(t *testing.T) *hook {
	t.Helper()
	h := &hook{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + l.Addr().String() + "/services/T000/B000/hook-secret"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		if h.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var m Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Text == "" {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.msgs = append(h.msgs, m)
		h.mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h
}

func (h *hook) messages() []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Message(nil), h.msgs...)
}

func testWebhook(t *testing.T, url string) *Webhook {
	t.Helper()
	wh, err := NewWebhook(url)
	if err != nil {
		t.Fatal(err)
	}
	wh.backoff = time.Millisecond
	return wh
}

func keys(cs []Cause) string {
	var ks []string
	for _, c := range cs {
		ks = append(ks, c.Key)
	}
	return strings.Join(ks, ",")
}

// A table of runs: what each run saw, and the one message (or none) it
// must send. Every = 1 minute; the quiet period is two runs unless set.
func TestWatcherMessages(t *testing.T) {
	leak := Cause{Key: "leak|/account", Kind: "leak", Severity: Critical, Summary: "alice's page reached bob"}
	leakOther := leak // the same cause, seen through another pair of users
	leakOther.Summary = "bob's page reached anonymous"
	cached := Cause{Key: "cached|/orders", Kind: "cached", Severity: High, Summary: "stored"}
	cart := Cause{Key: "cached|/cart", Kind: "cached", Severity: High, Summary: "stored"}
	note := Cause{Key: "info|/x", Kind: "edge_headers", Severity: Info, Summary: "edge rewrites"}
	blind := Cause{Key: "probe_untrusted|site", Kind: "probe_untrusted", Severity: High, Summary: "logins expired", Always: true}
	type step struct {
		causes       []Cause
		errors       int
		down         bool   // the webhook fails this run
		firing, gone string // the keys the run's message must list; "-" for no message
	}
	for _, tc := range []struct {
		name      string
		quiet     time.Duration
		threshold Severity // Low when unset
		steps     []step
	}{
		{"fires once, resolves once", 0, "", []step{
			{causes: []Cause{leak}, firing: "leak|/account"},
			{causes: []Cause{leakOther}, firing: "-"},
			{causes: nil, firing: "-"},
			{causes: nil, gone: "leak|/account"},
			{causes: nil, firing: "-"},
		}},
		{"comes and goes within the quiet period: no flapping", 0, "", []step{
			{causes: []Cause{leak}, firing: "leak|/account"},
			{causes: nil, firing: "-"},
			{causes: []Cause{leakOther}, firing: "-"},
			{causes: nil, firing: "-"},
			{causes: []Cause{leak}, firing: "-"},
			{causes: nil, firing: "-"},
			{causes: nil, gone: "leak|/account"},
		}},
		{"no quiet period beyond one run", time.Minute, "", []step{
			{causes: []Cause{leak}, firing: "leak|/account"},
			{causes: nil, gone: "leak|/account"},
		}},
		{"a run with errors cannot resolve", 0, "", []step{
			{causes: []Cause{leak}, firing: "leak|/account"},
			{causes: nil, errors: 1, firing: "-"},
			{causes: nil, errors: 3, firing: "-"},
			{causes: nil, gone: "leak|/account"},
		}},
		{"a blind checker fires whatever the threshold, and resolves nothing while blind", 0, Critical, []step{
			{causes: []Cause{leak}, firing: "leak|/account"},
			{causes: []Cause{blind}, errors: 1, firing: "probe_untrusted|site"},
			{causes: []Cause{blind}, errors: 1, firing: "-"},
			{causes: []Cause{leak}, firing: "-"},
			{causes: []Cause{leak}, gone: "probe_untrusted|site"},
			{causes: nil, firing: "-"},
			{causes: nil, gone: "leak|/account"},
		}},
		{"below the threshold never fires", 0, "", []step{
			{causes: []Cause{note}, firing: "-"},
			{causes: []Cause{note, cached}, firing: "cached|/orders"},
		}},
		{"one message lists what fired and what recovered", 0, "", []step{
			{causes: []Cause{leak}, firing: "leak|/account"},
			{causes: []Cause{cached}, firing: "cached|/orders"},
			{causes: []Cause{cached, cart}, firing: "cached|/cart", gone: "leak|/account"},
		}},
		{"a failed post is carried by the next message", 0, "", []step{
			{causes: []Cause{leak}, down: true, firing: "-"},
			{causes: []Cause{leak, cached}, firing: "leak|/account,cached|/orders"},
		}},
		{"fired and went quiet while the webhook was down", 0, "", []step{
			{causes: []Cause{leak}, down: true, firing: "-"},
			{causes: nil, down: true, firing: "-"},
			{causes: nil, firing: "-"},
			{causes: []Cause{leak}, firing: "leak|/account"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHook(t)
			var current step
			var logged []error
			w := &Watcher{Source: "probe", Every: time.Minute, Quiet: tc.quiet, Threshold: cmp.Or(tc.threshold, Low),
				Webhook: testWebhook(t, h.url),
				Check:   func(context.Context) Run { return Run{Causes: current.causes, Errors: current.errors} },
				Log:     func(err error) { logged = append(logged, err) }}
			start := time.Unix(1_700_000_000, 0)
			for i, s := range tc.steps {
				current = s
				h.down.Store(s.down)
				before := len(h.messages())
				logsBefore := len(logged)
				w.once(context.Background(), start.Add(time.Duration(i)*time.Minute))
				msgs := h.messages()
				if s.down {
					if len(logged)-logsBefore > 1 {
						t.Errorf("run %d: %d errors logged for one failed message", i+1, len(logged)-logsBefore)
					}
					continue
				}
				if s.firing == "-" && s.gone == "" {
					if len(msgs) != before {
						t.Errorf("run %d: sent %+v, want no message", i+1, msgs[before:])
					}
					continue
				}
				if len(msgs) != before+1 {
					t.Fatalf("run %d: %d messages, want exactly one", i+1, len(msgs)-before)
				}
				m := msgs[before]
				wantFiring := strings.TrimPrefix(s.firing, "-")
				if keys(m.Firing) != wantFiring || keys(m.Resolved) != s.gone {
					t.Errorf("run %d: firing %q resolved %q, want %q and %q", i+1, keys(m.Firing), keys(m.Resolved), wantFiring, s.gone)
				}
				if m.Source != "probe" || !strings.HasPrefix(m.Text, "cachefence probe: ") {
					t.Errorf("run %d: message %+v", i+1, m)
				}
			}
			for _, err := range logged {
				if strings.Contains(err.Error(), "hook-secret") {
					t.Errorf("a logged error shows the webhook URL: %v", err)
				}
			}
		})
	}
}

func TestMessageText(t *testing.T) {
	m := newMessage("probe",
		[]Cause{{Key: "k1", Kind: "leak", Severity: Critical, Summary: "/account: alice's page reached bob"}},
		[]Cause{{Key: "k2", Kind: "cached", Severity: High, Summary: "/orders: stored"}})
	want := "cachefence probe: 1 firing, 1 resolved\n" +
		"[FIRING] critical leak: /account: alice's page reached bob\n" +
		"[RESOLVED] high cached: /orders: stored"
	if m.Text != want {
		t.Errorf("got  %q\nwant %q", m.Text, want)
	}
}

// A webhook URL holds a secret: no error shows it, whatever failed. A
// refusal is not tried again; a server error is, up to three attempts.
func TestWebhookErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + closed.Addr().String() + "/services/T000/B000/hook-secret"
	closed.Close()
	var status atomic.Int64
	var attempts atomic.Int64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.WriteHeader(int(status.Load()))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	live := "http://" + l.Addr().String() + "/services/T000/B000/hook-secret"
	for _, tc := range []struct {
		name         string
		url          string
		status       int
		wantAttempts int64
		want         string
	}{
		{"nothing listens", dead, 0, 0, "connection refused"},
		{"refused", live, http.StatusNotFound, 1, "webhook answered 404 Not Found"},
		{"server error", live, http.StatusBadGateway, 3, "webhook answered 502 Bad Gateway"},
		{"rate limited", live, http.StatusTooManyRequests, 3, "webhook answered 429 Too Many Requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			attempts.Store(0)
			err := testWebhook(t, tc.url).Post(context.Background(), newMessage("probe", nil, nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hook-secret") {
				t.Errorf("the error shows the webhook URL: %v", err)
			}
			if tc.wantAttempts > 0 && attempts.Load() != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", attempts.Load(), tc.wantAttempts)
			}
		})
	}
	for _, bad := range []string{"hooks.example/T000/hook-secret", "ftp://x/hook-secret", "http:///hook-secret"} {
		_, err := NewWebhook(bad)
		if err == nil || strings.Contains(err.Error(), "hook-secret") {
			t.Errorf("NewWebhook(%q): %v", bad, err)
		}
	}
}

// A run with errors may have missed findings: the findings gauge keeps the
// last complete count instead of falling to zero while the site is down.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, "probe"); err == nil {
		t.Error("registering the same metrics twice succeeded")
	}
	leak := Cause{Key: "a", Kind: "leak", Severity: Critical}
	leak2 := Cause{Key: "b", Kind: "leak", Severity: Critical}
	leak3 := Cause{Key: "c", Kind: "leak", Severity: Critical}
	gauge := m.findings.WithLabelValues("leak", "critical")
	for _, step := range []struct {
		name string
		run  Run
		want float64
	}{
		{"two leaks", Run{Causes: []Cause{leak, leak2}}, 2},
		{"site down", Run{Errors: 1}, 2},
		{"one more leak, some errors", Run{Causes: []Cause{leak, leak2, leak3}, Errors: 1}, 3},
		{"complete run, fixed", Run{}, 0},
	} {
		m.observe(step.run, 0, false)
		if got := testutil.ToFloat64(gauge); got != step.want {
			t.Errorf("%s: leak gauge %v, want %v", step.name, got, step.want)
		}
	}
	if got := testutil.ToFloat64(m.runs); got != 4 {
		t.Errorf("runs %v, want 4", got)
	}
	if got := testutil.ToFloat64(m.errors); got != 2 {
		t.Errorf("errors %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "cachefence_probe_alerts_firing", "cachefence_probe_webhook_failures_total"); err != nil || n != 2 {
		t.Errorf("gathered %d series, err %v", n, err)
	}
}

// Run returns when its context ends.
func TestWatcherRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var runs atomic.Int64
	w := &Watcher{Source: "probe", Every: time.Hour, Threshold: Low, Check: func(context.Context) Run {
		runs.Add(1)
		cancel()
		return Run{}
	}}
	if err := w.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	if runs.Load() != 1 {
		t.Errorf("%d runs, want 1", runs.Load())
	}
}
