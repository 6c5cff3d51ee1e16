package alert

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

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

// hook is a webhook receiver on 127.0.0.1 that records the messages,
// fails while down is set, and refuses bodies over limit bytes, if set,
// as too large.
type hook struct {
	url   string
	down  atomic.Bool
	limit atomic.Int64
	mu    sync.Mutex
	msgs  []Message
	hits  atomic.Int64
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
		body, err := io.ReadAll(r.Body)
		if limit := h.limit.Load(); err != nil || limit > 0 && int64(len(body)) > limit {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		var m Message
		if err := json.Unmarshal(body, &m); err != nil || m.Text == "" {
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

// causes makes n causes of severity sev, with summaries of the given
// length in bytes and details of the given length, keyed by kind|host|path
// as cachefence logs keys them.
func causes(n int, sev Severity, summary, detail int) []Cause {
	cs := make([]Cause, n)
	for i := range cs {
		cs[i] = Cause{Key: fmt.Sprintf("stamp_mismatch|www.example.com|/p/%04d", i), Kind: "stamp_mismatch", Severity: sev,
			Summary: fmt.Sprintf("/p/%04d %s", i, strings.Repeat("s", max(summary-8, 0)))}
		if detail > 0 {
			cs[i].Detail = strings.Repeat("d", detail)
		}
	}
	return cs
}

// A message lists the most urgent causes, as many as its bounds allow, and
// counts the rest, so that a site-wide leak still makes a message that
// webhooks take.
func TestMessageBounds(t *testing.T) {
	hugeKey := causes(1, Critical, 20, 0)
	hugeKey[0].Key = strings.Repeat("k", maxBody)
	accented := causes(2, High, 0, 0)
	for i := range accented {
		accented[i].Summary = strings.Repeat("é", maxLine)
	}
	for _, tc := range []struct {
		name                string
		firing, resolved    []Cause
		listedF, listedR    int
		last                string // the text's last line
		summaryCut, lineCut bool   // the listed summaries, and lines, were cut
	}{
		{"a few causes: all listed", causes(2, Critical, 40, 100), causes(1, High, 40, 100), 2, 1, "[RESOLVED] high stamp_mismatch: /p/0000 " + strings.Repeat("s", 32), false, false},
		{"a site-wide leak", causes(500, Critical, 60, 200), nil, 20, 0, "… and 480 more firing", false, false},
		{"20 of each, the most urgent", causes(100, Critical, 30, 0), causes(100, Medium, 30, 0), 20, 20, "… and 80 more firing (80 more resolved)", false, false},
		{"only resolved left out", causes(1, Critical, 30, 0), causes(25, Low, 30, 0), 1, 20, "… and 5 more resolved", false, false},
		{"a long summary is cut", causes(3, Critical, 10_000, 0), nil, 3, 0, "", true, true},
		{"the text bound", causes(30, Critical, 1000, 0), causes(5, Low, 10, 0), 7, 0, "… and 23 more firing (5 more resolved)", true, true},
		{"the body bound", causes(10, Critical, 30, 10_000), nil, 3, 0, "… and 7 more firing", false, false},
		{"a cause too large for any message", hugeKey, causes(3, Low, 10, 0), 0, 0, "… and 1 more firing (3 more resolved)", false, false},
		{"cut on a character boundary", accented, nil, 2, 0, "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMessage("logs", tc.firing, tc.resolved)
			body, err := json.Marshal(m)
			if err != nil || !json.Valid(body) {
				t.Fatalf("body %v", err)
			}
			if len(body) > maxBody || len(m.Text) > maxText || !utf8.ValidString(m.Text) {
				t.Errorf("body %d bytes, text %d bytes, valid UTF-8 %v", len(body), len(m.Text), utf8.ValidString(m.Text))
			}
			if len(m.Firing) != tc.listedF || len(m.Resolved) != tc.listedR ||
				m.MoreFiring != len(tc.firing)-tc.listedF || m.MoreResolved != len(tc.resolved)-tc.listedR {
				t.Errorf("listed %d+%d, more %d+%d; want %d+%d of %d+%d", len(m.Firing), len(m.Resolved), m.MoreFiring, m.MoreResolved,
					tc.listedF, tc.listedR, len(tc.firing), len(tc.resolved))
			}
			if keys(m.Firing) != keys(tc.firing[:len(m.Firing)]) || keys(m.Resolved) != keys(tc.resolved[:len(m.Resolved)]) {
				t.Errorf("listed %q and %q, not the first of each list", keys(m.Firing), keys(m.Resolved))
			}
			lines := strings.Split(m.Text, "\n")
			if want := fmt.Sprintf("cachefence logs: %d firing, %d resolved", len(tc.firing), len(tc.resolved)); lines[0] != want {
				t.Errorf("head %q, want %q", lines[0], want)
			}
			more := 0
			if m.MoreFiring+m.MoreResolved > 0 {
				more = 1
			}
			if len(lines) != 1+len(m.Firing)+len(m.Resolved)+more {
				t.Errorf("%d lines for %d causes listed:\n%s", len(lines), len(m.Firing)+len(m.Resolved), m.Text)
			}
			if tc.last != "" && lines[len(lines)-1] != tc.last {
				t.Errorf("last line %q, want %q", lines[len(lines)-1], tc.last)
			}
			for i, l := range lines[1 : 1+len(m.Firing)+len(m.Resolved)] {
				if len(l) > maxLine || strings.HasSuffix(l, "…") != tc.lineCut {
					t.Errorf("line %d: %d bytes, cut %v, want cut %v", i+1, len(l), strings.HasSuffix(l, "…"), tc.lineCut)
				}
			}
			for _, c := range append(m.Firing, m.Resolved...) {
				if len(c.Summary) > maxLine || strings.HasSuffix(c.Summary, "…") != tc.summaryCut || !utf8.ValidString(c.Summary) {
					t.Errorf("summary of %d bytes, cut %v, want cut %v", len(c.Summary), strings.HasSuffix(c.Summary, "…"), tc.summaryCut)
				}
			}
		})
	}
}

// A message refused as too large gives way to its counts alone, so that
// what it announces is not owed, and refused, for ever.
func TestWatcherTooLarge(t *testing.T) {
	h := startHook(t)
	h.limit.Store(4 << 10)
	current := causes(500, Critical, 60, 200)
	var logged []error
	w := &Watcher{Source: "logs", Every: time.Minute, Threshold: Low, Webhook: testWebhook(t, h.url),
		Check: func(context.Context) Run { return Run{Causes: current} },
		Log:   func(err error) { logged = append(logged, err) }}
	start := time.Unix(1_700_000_000, 0)
	w.once(context.Background(), start)
	msgs := h.messages()
	if len(msgs) != 1 || len(logged) != 0 {
		t.Fatalf("%d messages, errors %v; want one message", len(msgs), logged)
	}
	want := "cachefence logs: 500 firing, 0 resolved\n(the webhook refused the list of causes as too large)\n… and 500 more firing"
	if m := msgs[0]; m.Text != want || len(m.Firing) != 0 || m.MoreFiring != 500 {
		t.Errorf("got %q with %d causes and %d more, want %q", m.Text, len(m.Firing), m.MoreFiring, want)
	}
	w.once(context.Background(), start.Add(time.Minute))
	if msgs := h.messages(); len(msgs) != 1 {
		t.Errorf("the causes were announced again: %+v", msgs[1:])
	}
	// One more cause: its message fits, and lists it.
	current = append(current, Cause{Key: "leak|/new", Kind: "leak", Severity: Critical, Summary: "new"})
	w.once(context.Background(), start.Add(2*time.Minute))
	if msgs := h.messages(); len(msgs) != 2 || keys(msgs[1].Firing) != "leak|/new" {
		t.Errorf("messages %+v, want a second one listing leak|/new", msgs)
	}
	// An endpoint that refuses even the counts is as good as down: the
	// causes stay owed, and one error is logged per run.
	h.limit.Store(10)
	current = append(current, Cause{Key: "leak|/other", Kind: "leak", Severity: Critical, Summary: "other"})
	hits := h.hits.Load()
	w.once(context.Background(), start.Add(3*time.Minute))
	if len(logged) != 1 || !strings.Contains(logged[0].Error(), "webhook answered 413") || h.hits.Load()-hits != 2 {
		t.Errorf("errors %v after %d posts, want one 413 after two posts", logged, h.hits.Load()-hits)
	}
	h.limit.Store(0)
	w.once(context.Background(), start.Add(4*time.Minute))
	if msgs := h.messages(); len(msgs) != 3 || keys(msgs[2].Firing) != "leak|/other" {
		t.Errorf("messages %+v, want a third one listing leak|/other", msgs)
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
		{"too large, then the counts too", live, http.StatusRequestEntityTooLarge, 2, "webhook answered 413 Request Entity Too Large"},
		{"server error", live, http.StatusBadGateway, 3, "webhook answered 502 Bad Gateway"},
		{"rate limited", live, http.StatusTooManyRequests, 3, "webhook answered 429 Too Many Requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			attempts.Store(0)
			err := testWebhook(t, tc.url).Post(context.Background(), newMessage("probe", causes(1, Critical, 10, 0), nil))
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

// RunNow runs the checker at once, between ticks, and returns once the
// run's message is posted; without a running Run it waits for its context.
func TestWatcherRunNow(t *testing.T) {
	var posted atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posted.Add(1)
	}))
	defer hook.Close()
	wh, err := NewWebhook(hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	w := &Watcher{Source: "logs", Every: time.Hour, Threshold: Low, Webhook: wh, Check: func(context.Context) Run {
		n := runs.Add(1)
		return Run{Causes: []Cause{{Key: fmt.Sprint("k", n), Kind: "k", Severity: High, Summary: "s"}}}
	}}

	early, cancelEarly := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelEarly()
	if err := w.RunNow(early); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RunNow without Run returned %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- w.Run(ctx) }()
	for want := int64(2); want <= 4; want++ {
		if err := w.RunNow(ctx); err != nil {
			t.Fatal(err)
		}
		// Run's first run, then one per RunNow, each posted before RunNow
		// returns: an hour's ticker never fired.
		if runs.Load() != want || posted.Load() != want {
			t.Errorf("after RunNow: %d runs, %d posts; want %d each", runs.Load(), posted.Load(), want)
		}
	}
	cancel()
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}
