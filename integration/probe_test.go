package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/probe"
)

// stampKey is the owner-stamp key shared by the fence and the probe here.
const stampKey = "integration-stamp-key-0123456789"

// probeCase is one run of `cachefence probe` against a real cache.
type probeCase struct {
	name     string
	cache    string    // "varnish" or "nginx"
	config   string    // in testdata
	fence    fenceFunc // nil: the cache talks to the origin directly
	personal []string
	public   []string
	// markers are false when the identities' markers must never match, so
	// that only the owner stamp can tell whose page it was.
	markers  bool
	stamp    bool // the probe checks owner stamps
	collapse bool // run the collapse test
	wantExit int
	wantMech string // a leak through this mechanism must be reported ("" when clean)
}

var probeCases = []probeCase{{
	name: "2017_cdn/without_fence", cache: "varnish", config: "varnish_2017.vcl",
	personal: []string{"/account"}, public: []string{"/"}, markers: true, collapse: true,
	wantExit: probe.ExitFindings, wantMech: probe.MechSequential,
}, {
	name: "2017_cdn/with_fence", cache: "varnish", config: "varnish_2017.vcl", fence: caddyfileFence,
	personal: []string{"/account"}, public: []string{"/"}, markers: true, collapse: true,
	wantExit: probe.ExitClean,
}, {
	// The fence cannot stop a cache that ignores origin headers; the probe
	// is what sees it.
	name: "forced_ttl/with_fence", cache: "varnish", config: "varnish_forced_ttl.vcl", fence: caddyfileFence,
	personal: []string{"/account"}, markers: true,
	wantExit: probe.ExitFindings, wantMech: probe.MechSequential,
}, {
	// No marker matches: only the owner stamp says whose page it was.
	name: "forced_ttl/stamp_only", cache: "varnish", config: "varnish_forced_ttl.vcl", fence: stampingFence(stampKey),
	personal: []string{"/account"}, stamp: true,
	wantExit: probe.ExitFindings, wantMech: probe.MechSequential,
}, {
	// The 2017 mechanism: the collapse test alone finds it.
	name: "collapsing/without_fence", cache: "varnish", config: "varnish_microcache.vcl",
	personal: []string{"/live"}, markers: true, collapse: true,
	wantExit: probe.ExitFindings, wantMech: probe.MechSequential,
}, {
	name: "collapsing/with_fence", cache: "varnish", config: "varnish_microcache.vcl", fence: caddyfileFence,
	personal: []string{"/live"}, markers: true, collapse: true,
	wantExit: probe.ExitClean,
}}

// TestProbe runs the cachefence binary's probe subcommand through real
// caches and checks its verdict and exit code.
func TestProbe(t *testing.T) {
	t.Parallel()
	for _, pc := range probeCases {
		t.Run(pc.name, func(t *testing.T) {
			o := startOrigin(t)
			backend := o.port
			if pc.fence != nil {
				backend = pc.fence(t, o.port)
			}
			c := startCache(t, pc.cache, pc.config, backend)
			exit, rep := runProbe(t, probeConfig(c.url, pc))
			report(t, "probe      %-26s exit %d, %d findings", pc.name, exit, len(rep.Findings))
			for _, f := range rep.Findings {
				t.Logf("%s %s %s %v %v %q", f.Severity, f.Kind, f.URL, f.Pairs, f.Mechanisms, f.Evidence)
			}
			if exit != pc.wantExit {
				t.Fatalf("exit %d, want %d; errors: %v", exit, pc.wantExit, rep.Errors)
			}
			if pc.wantMech == "" {
				return
			}
			for _, f := range rep.Findings {
				if f.Kind == probe.KindLeak && slices.Contains(f.Mechanisms, pc.wantMech) {
					if pc.stamp && !strings.Contains(strings.Join(f.Evidence, "\n"), "owner stamp") {
						continue
					}
					return
				}
			}
			t.Fatalf("no leak found through %s", pc.wantMech)
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
	if pc.stamp {
		cfg.OwnerStamp = &probe.OwnerStamp{Key: stampKey}
	}
	return cfg
}

// runProbe runs `cachefence probe --format json` and returns its exit code
// and report.
func runProbe(t *testing.T, cfg probe.Config) (int, *probe.Report) {
	t.Helper()
	file := writeProbeConfig(t, cfg)
	cmd := exec.CommandContext(testContext(t, requestTimeout*10), cachefenceBinary(t), "probe", "--config", file, "--format", "json")
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
