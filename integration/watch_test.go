package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
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
// micro-cache whose site leaks to a different pair of users each run. The
// leak comes and goes: the operator puts the fence in, takes it out again,
// puts it back. The webhook must get one message that fires the causes and,
// once they have stayed away for the quiet period, one that resolves them:
// no stream, no flapping. The metrics endpoint counts it all.
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

	// Run 1 leaks; 2 is fenced; 3 leaks again, within the quiet period
	// (two runs); 4 and 5 are fenced, and 5 is the first run the causes
	// have been away for the quiet period; 6 has nothing to say.
	for run, port := range []int{fencePort, o.port, fencePort} {
		waitRuns(t, metrics, float64(run+1))
		if run == 0 {
			if n := metricValue(t, metrics, `cachefence_probe_findings{kind="leak",severity="critical"}`); n != 1 {
				t.Errorf("the metrics show %v leaks while the cache leaks, want 1 (one per cause)", n)
			}
		}
		sw.target.Store(int64(port))
	}
	waitRuns(t, metrics, 6)
	msgs := hook.messages()
	report(t, "probe      watch (varnish microcache, fence in, out, in)  %d webhook messages over 6 runs", len(msgs))
	if len(msgs) != 2 {
		t.Fatalf("%d webhook messages, want 2 (fired, resolved): %+v", len(msgs), msgs)
	}
	fired, resolved := causeKeys(msgs[0].Firing), causeKeys(msgs[1].Resolved)
	if len(msgs[0].Resolved) > 0 || len(msgs[1].Firing) > 0 || !slices.Equal(fired, resolved) ||
		!slices.Contains(fired, "leak "+c.url+"/account") {
		t.Errorf("fired %q then resolved %q, want the same causes, the leak among them", fired, resolved)
	}
	for _, name := range []string{
		`cachefence_probe_findings{kind="leak",severity="critical"}`, "cachefence_probe_alerts_firing",
		"cachefence_probe_errors_total", "cachefence_probe_webhook_failures_total",
	} {
		if n := metricValue(t, metrics, name); n != 0 {
			t.Errorf("%s = %v after the recovery, want 0", name, n)
		}
	}
}

func causeKeys(cs []alert.Cause) []string {
	var keys []string
	for _, c := range cs {
		keys = append(keys, c.Key)
	}
	slices.Sort(keys)
	return keys
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

// webhookReceiver records the messages posted to it.
type webhookReceiver struct {
	url  string
	mu   sync.Mutex
	msgs []alert.Message
}

func startWebhookReceiver(t *testing.T) *webhookReceiver {
	t.Helper()
	wr := &webhookReceiver{}
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
		wr.msgs = append(wr.msgs, m)
		wr.mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return wr
}

func (wr *webhookReceiver) messages() []alert.Message {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return slices.Clone(wr.msgs)
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
