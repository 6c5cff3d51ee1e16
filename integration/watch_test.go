package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachefence/cachefence/alert"
)

// watchEvery is the shortest interval `cachefence probe --every` accepts.
const watchEvery = 10 * time.Second

// TestProbeWatch runs `cachefence probe --every` against a real Varnish
// whose site leaks, puts the fence in front of the origin, and checks that
// the webhook got exactly one alert per finding and then exactly one
// recovery, and that the metrics endpoint counted it all.
func TestProbeWatch(t *testing.T) {
	t.Parallel()
	o := startOrigin(t)
	fencePort := caddyfileFence(t, o.port)
	sw := startSwitch(t, o.port)
	// A one-second micro-cache: once the fence is in, what it stored
	// before is gone within a second.
	c := startCache(t, "varnish", "varnish_microcache.vcl", sw.port)
	hook := startWebhookReceiver(t)
	cfg := probeConfig(c.url, probeCase{personal: []string{"/account"}, markers: true})
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProcess(t, "cachefence probe --every", nil, cachefenceBinary(t), "probe",
		"--config", writeProbeConfig(t, cfg), "--every", watchEvery.String(),
		"--webhook", hook.url, "--metrics", metricsAddr)
	metrics := "http://" + metricsAddr + "/metrics"

	// Two runs see the same leaks: one alert each.
	waitRuns(t, metrics, 2)
	firing := hook.received()
	if len(firing) == 0 {
		t.Fatal("two runs against the leaking cache posted no alert")
	}
	for key, statuses := range firing {
		if len(statuses) != 1 || statuses[0] != "firing" {
			t.Fatalf("%s: got %v after two runs, want [firing]", key, statuses)
		}
	}
	if n := metricValue(t, metrics, `cachefence_probe_findings{kind="leak",severity="critical"}`); n == 0 {
		t.Error("the metrics show no leak while the cache leaks")
	}

	sw.target.Store(int64(fencePort)) // the operator puts the fence in
	waitRuns(t, metrics, 4)           // the recovery, then a run with nothing new
	got := hook.received()
	report(t, "probe      watch (varnish, fence put in)  %d findings alerted once and resolved once over 4 runs", len(firing))
	if len(got) != len(firing) {
		t.Errorf("alerts for %d findings, want the first run's %d", len(got), len(firing))
	}
	for key, statuses := range got {
		if len(statuses) != 2 || statuses[0] != "firing" || statuses[1] != "resolved" {
			t.Errorf("%s: got %v, want [firing resolved]", key, statuses)
		}
	}
	for _, name := range []string{`cachefence_probe_findings{kind="leak",severity="critical"}`, "cachefence_probe_errors_total"} {
		if n := metricValue(t, metrics, name); n != 0 {
			t.Errorf("%s = %v after the recovery, want 0", name, n)
		}
	}
}

// backendSwitch is a reverse proxy between the cache and its backend whose
// target port can change while it runs, as when an operator puts the fence
// in front of the origin.
type backendSwitch struct {
	port   int
	target atomic.Int64
}

func startSwitch(t *testing.T, targetPort int) *backendSwitch {
	t.Helper()
	sw := &backendSwitch{}
	sw.target.Store(int64(targetPort))
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.FormatInt(sw.target.Load(), 10))})
		r.Out.Host = r.In.Host
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sw.port = l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: requestTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sw
}

// webhookReceiver records the alerts posted to it, by finding.
type webhookReceiver struct {
	url    string
	mu     sync.Mutex
	alerts map[string][]string // finding key -> statuses, in order
}

func startWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	wr := &webhookReceiver{alerts: map[string][]string{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wr.url = "http://" + l.Addr().String() + "/hook"
	srv := &http.Server{ReadHeaderTimeout: requestTimeout, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m alert.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Text == "" {
			// Slack rejects a body without "text"; so does this.
			http.Error(w, "bad alert", http.StatusBadRequest)
			return
		}
		wr.mu.Lock()
		for _, c := range m.Firing {
			wr.alerts[c.Key] = append(wr.alerts[c.Key], "firing")
		}
		for _, c := range m.Resolved {
			wr.alerts[c.Key] = append(wr.alerts[c.Key], "resolved")
		}
		wr.mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return wr
}

func (wr *webhookReceiver) received() map[string][]string {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	out := make(map[string][]string, len(wr.alerts))
	for k, v := range wr.alerts {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// waitRuns waits until the watching probe has completed n runs.
func waitRuns(t *testing.T, metricsURL string, n float64) {
	t.Helper()
	deadline := time.Now().Add(time.Duration(n+1)*watchEvery + time.Minute)
	for time.Now().Before(deadline) {
		if v, ok := readMetric(metricsURL, "cachefence_probe_runs_total"); ok && v >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the probe did not complete %v runs in time", n)
}

// metricValue reads one sample from the probe's metrics endpoint.
func metricValue(t *testing.T, metricsURL, name string) float64 {
	t.Helper()
	v, ok := readMetric(metricsURL, name)
	if !ok {
		t.Fatalf("%s: no such sample on %s", name, metricsURL)
	}
	return v
}

// readMetric finds the sample written exactly as name (labels included,
// in the exposition's order) in the Prometheus text format.
func readMetric(metricsURL, name string) (float64, bool) {
	resp, err := http.Get(metricsURL)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		value, found := strings.CutPrefix(sc.Text(), name+" ")
		if !found {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		return v, err == nil
	}
	return 0, false
}
