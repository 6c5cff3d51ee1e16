package deploy

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// promtool returns the path of Prometheus' promtool, or fails the test.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found: install Debian's prometheus package (scripts/test does): %v", err)
	}
	return p
}

// The rules load, and their unit tests (prometheus/cachefence.rules.test.yml)
// pass.
func TestPrometheusRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "cachefence.rules.yml"},
		{"test", "rules", "cachefence.rules.test.yml"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// fenceMetric matches the names of the fence's metrics in the rules.
var fenceMetric = regexp.MustCompile(`caddy_http_cache_fence_[a-z_]+`)

// Every fence metric the rules read is one the sidecar exports, after a
// fenced response: a metric renamed in caddymodule fails here, where the
// promtool tests, which feed the rules their own series, would pass.
func TestPrometheusRulesReadRealMetrics(t *testing.T) {
	rules, err := os.ReadFile("prometheus/cachefence.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Compact(slices.Sorted(slices.Values(fenceMetric.FindAllString(string(rules), -1))))
	if len(names) == 0 {
		t.Fatal("the rules read no caddy_http_cache_fence_ metric")
	}

	origin := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		io.WriteString(w, "page")
	})}
	l := listen(t)
	go origin.Serve(l)
	defer origin.Close()
	from, metrics := freeAddr(t), freeAddr(t)
	startSidecar(t, "http://"+metrics+"/metrics", "sidecar", "--from", from, "--to", l.Addr().String(), "--metrics", metrics)
	req, _ := http.NewRequest("GET", "http://"+from+"/account", nil)
	req.Header.Set("Cookie", "session=alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range names {
		if !strings.Contains(string(body), "\n"+name+"{") {
			t.Errorf("the rules read %s, which the sidecar does not export:\n%s", name, fenceLines(string(body)))
		}
	}
}

// fenceLines returns the lines of a metrics page about the fence.
func fenceLines(page string) string {
	var lines []string
	for _, l := range strings.Split(page, "\n") {
		if strings.Contains(l, "cache_fence") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
