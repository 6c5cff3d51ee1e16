package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cachefence/cachefence/probe"
)

// stampKey is the owner-stamp key shared by the fence and the probe here.
const stampKey = "integration-stamp-key-0123456789"

// probeCase is one run of `cachefence probe` against a real cache.
type probeCase struct {
	name     string
	cache    string    // "varnish" or "nginx"; "" probes the fence directly
	config   string    // in testdata
	fence    fenceFunc // nil: the cache talks to the origin directly
	personal []string
	public   []string
	// markers are false when the identities' markers must never match, so
	// that only the owner stamp can tell whose page it was.
	markers  bool
	stamp    string // the key the probe checks owner stamps with
	collapse bool   // run the collapse test
	// want are the findings, exactly, as findingsOf writes them.
	want      []string
	untrusted int // how many reasons not to trust the run
	exit      int
}

var probeCases = []probeCase{{
	name: "2017_cdn/without_fence", cache: "varnish", config: "varnish_2017.vcl",
	personal: []string{"/account"}, public: []string{"/"}, markers: true, collapse: true,
	want: []string{"leak alice->anonymous,alice->bob", probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	name: "2017_cdn/with_fence", cache: "varnish", config: "varnish_2017.vcl", fence: caddyfileFence,
	personal: []string{"/account"}, public: []string{"/"}, markers: true, collapse: true,
	exit: probe.ExitClean,
}, {
	// The fence cannot stop a cache that ignores origin headers; the probe
	// is what sees it.
	name: "forced_ttl/with_fence", cache: "varnish", config: "varnish_forced_ttl.vcl", fence: caddyfileFence,
	personal: []string{"/account"}, markers: true,
	want: []string{"leak alice->anonymous,alice->bob"},
	exit: probe.ExitFindings,
}, {
	// No marker matches: only the owner stamp says whose page it was.
	name: "forced_ttl/stamp_only", cache: "varnish", config: "varnish_forced_ttl.vcl", fence: stampingFence(stampKey),
	personal: []string{"/account"}, stamp: stampKey,
	want: []string{"leak alice->anonymous,alice->bob"},
	exit: probe.ExitFindings,
}, {
	// A key that is not the fence's verifies nothing: no finding, and a
	// run that says it cannot be trusted.
	name: "fence_direct/wrong_stamp_key", fence: stampingFence(stampKey),
	personal: []string{"/account"}, markers: true, stamp: "not-the-fence-key-0123456789", collapse: true,
	untrusted: 1,
	exit:      probe.ExitError,
}, {
	// A micro-cache in front of a slow page: sequential hits and bursts
	// alike hand the first page to everyone.
	name: "collapsing/without_fence", cache: "varnish", config: "varnish_microcache.vcl",
	personal: []string{"/live"}, markers: true, collapse: true,
	want: []string{"leak *", probe.KindUnsafeHeaders},
	exit: probe.ExitFindings,
}, {
	name: "collapsing/with_fence", cache: "varnish", config: "varnish_microcache.vcl", fence: caddyfileFence,
	personal: []string{"/live"}, markers: true, collapse: true,
	exit: probe.ExitClean,
}}

// TestProbe runs the cachefence binary's probe subcommand through real
// caches and checks its findings, exactly, and its exit code.
func TestProbe(t *testing.T) {
	t.Parallel()
	for _, pc := range probeCases {
		t.Run(pc.name, func(t *testing.T) {
			o := startOrigin(t)
			backend := o.port
			if pc.fence != nil {
				backend = pc.fence(t, o.port)
			}
			base := fmt.Sprintf("http://127.0.0.1:%d", backend)
			if pc.cache != "" {
				base = startCache(t, pc.cache, pc.config, backend).url
			}
			exit, rep := runProbe(t, probeConfig(base, pc))
			got := findingsOf(rep)
			report(t, "probe      %-26s exit %d, findings %v, untrusted %d", pc.name, exit, got, len(rep.Untrusted))
			for _, f := range rep.Findings {
				t.Logf("%s %s %s %v %v %q", f.Severity, f.Kind, f.URL, f.Pairs, f.Mechanisms, f.Evidence)
			}
			if !matchFindings(got, pc.want) {
				t.Errorf("findings %q, want exactly %q", got, pc.want)
			}
			if exit != pc.exit || len(rep.Untrusted) != pc.untrusted || len(rep.Errors) > 0 {
				t.Errorf("exit %d, want %d; untrusted %q (want %d); errors %q", exit, pc.exit, rep.Untrusted, pc.untrusted, rep.Errors)
			}
		})
	}
}

// probeConfig writes the probe's config for two test accounts, as a user
// would from examples/probe.json.
func probeConfig(base string, pc probeCase) probe.Config {
	marker := func(user string) string {
		if pc.markers {
			return "owner=" + user
		}
		return "marker-that-no-page-holds-" + user
	}
	cfg := probe.Config{
		BaseURL: base,
		Identities: []probe.Identity{
			{Name: "alice", Cookies: map[string]string{"session": "alice"}, Markers: []string{marker("alice")}},
			{Name: "bob", Headers: map[string]string{"Authorization": "Bearer bob"}, Markers: []string{marker("bob")}},
		},
		PersonalURLs: pc.personal,
		PublicURLs:   pc.public,
		Checks:       []string{probe.CheckPersonal, probe.CheckPublic},
	}
	if pc.collapse {
		cfg.Checks = append(cfg.Checks, probe.CheckCollapse)
	}
	if pc.stamp != "" {
		cfg.OwnerStamp = &probe.OwnerStamp{Key: pc.stamp}
	}
	return cfg
}

// runProbe runs `cachefence probe --format json` with args and returns its
// exit code and report.
func runProbe(t *testing.T, cfg probe.Config, args ...string) (int, *probe.Report) {
	t.Helper()
	file := writeProbeConfig(t, cfg)
	cmd := exec.CommandContext(testContext(t, requestTimeout*10), cachefenceBinary(t),
		append([]string{"probe", "--config", file, "--format", "json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	exit := 0
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("running the probe: %v", err)
		}
		exit = exitErr.ExitCode()
	}
	var report probe.Report
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("the probe's JSON report does not parse: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return exit, &report
}

// writeProbeConfig writes cfg where the probe can read it.
func writeProbeConfig(t *testing.T, cfg probe.Config) string {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "probe.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
