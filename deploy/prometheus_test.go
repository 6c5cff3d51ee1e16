package deploy

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// Metric names in the rules: a literal one, or a selector over the
// watchers' sources such as cachefence_(probe|audit|logs)_alerts_firing.
var (
	watcherMetric   = regexp.MustCompile(`cachefence_\(([a-z|]+)\)_([a-z_]+[a-z])`)
	literalMetric   = regexp.MustCompile(`\bcachefence_[a-z]+_[a-z_]+[a-z]\b`)
	sourceName      = regexp.MustCompile(`Source: "([a-z]+)"`)
	metricSuffix    = regexp.MustCompile(`Name: name\("([a-z_]+)"\)`)
	metricConstName = regexp.MustCompile(`Name: "(cachefence_[a-z_]+)"`)
)

// Every watcher metric the rules read is one the code registers: the
// alert package's per-source metrics (cachefence_<source>_<suffix>, for
// each Source a command gives its watcher) and the literal names of the
// logs and audit commands. The code is read, since running probe, audit
// and logs as watchers needs a site, a CDN's API and a log each.
func TestPrometheusRulesReadWatcherMetrics(t *testing.T) {
	rules, err := os.ReadFile("prometheus/cachefence.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	var sources, suffixes []string
	for _, m := range sourceName.FindAllStringSubmatch(goSource(t, "../cli"), -1) {
		sources = append(sources, m[1])
	}
	for _, m := range metricSuffix.FindAllStringSubmatch(goSource(t, "../alert"), -1) {
		suffixes = append(suffixes, m[1])
	}
	for _, s := range sources {
		for _, x := range suffixes {
			known["cachefence_"+s+"_"+x] = true
		}
	}
	for _, dir := range []string{"../cli", "../logs"} {
		for _, m := range metricConstName.FindAllStringSubmatch(goSource(t, dir), -1) {
			known[m[1]] = true
		}
	}
	if len(sources) == 0 || len(suffixes) == 0 {
		t.Fatalf("found no watcher sources (%q) or metric names (%q) in the code: update this test", sources, suffixes)
	}

	var used []string
	for _, m := range watcherMetric.FindAllStringSubmatch(string(rules), -1) {
		for _, s := range strings.Split(m[1], "|") {
			used = append(used, "cachefence_"+s+"_"+m[2])
		}
	}
	used = append(used, literalMetric.FindAllString(string(rules), -1)...)
	if len(used) == 0 {
		t.Fatal("the rules read no cachefence_ metric")
	}
	for _, name := range used {
		if !known[name] {
			t.Errorf("the rules read %s, which no code registers", name)
		}
	}
}

// goSource returns the non-test Go files of dir, concatenated.
func goSource(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
