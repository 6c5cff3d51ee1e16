package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cache is a running shared cache in front of a backend.
type cache struct {
	kind    string // "varnish" or "nginx"
	url     string // http://127.0.0.1:port
	workdir string // varnishd -n, for varnishstat
	stat    string // the varnishstat binary
}

// startCache runs kind ("varnish" or "nginx") with the configuration file
// testdata/<cfg>, forwarding to 127.0.0.1:backendPort.
func startCache(t *testing.T, kind, cfg string, backendPort int) *cache {
	t.Helper()
	switch kind {
	case "varnish":
		return startVarnish(t, cfg, backendPort)
	case "nginx":
		return startNginx(t, cfg, backendPort)
	}
	t.Fatalf("unknown cache %q", kind)
	return nil
}

// startVarnish runs varnishd in the foreground with the VCL template
// testdata/<vcl>.
func startVarnish(t *testing.T, vcl string, backendPort int) *cache {
	t.Helper()
	return startVarnishWith(t, vcl, "", backendPort)
}

// startVarnishWith is startVarnish with VCL of the test's own, prelude,
// put right after the configuration's "vcl 4.x;" line.
func startVarnishWith(t *testing.T, vcl, prelude string, backendPort int) *cache {
	t.Helper()
	varnishd := tool(t, "varnishd")
	c := &cache{kind: "varnish", stat: tool(t, "varnishstat")}
	dir := t.TempDir()
	port := serve(t, "varnishd", func(port int) *process {
		c.workdir = filepath.Join(dir, fmt.Sprintf("varnish-%d", port))
		file := render(t, dir, "default.vcl", config{Port: port, BackendPort: backendPort}, vcl)
		if prelude != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			version, rest, ok := strings.Cut(string(b), "\n")
			if !ok || !strings.HasPrefix(version, "vcl ") {
				t.Fatalf("%s does not start with its vcl line", vcl)
			}
			if err := os.WriteFile(file, []byte(version+"\n"+prelude+rest), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return startProcess(t, "varnishd", nil, varnishd,
			"-F",         // foreground, so the test owns the process
			"-j", "none", // no privilege separation: the workdir is the test's own
			"-n", c.workdir, // private shared memory, for varnishstat
			"-a", fmt.Sprintf("127.0.0.1:%d", port),
			"-T", "127.0.0.1:0", // the CLI; its default also listens on ::1
			"-f", file,
			"-s", "malloc,64m",
		)
	})
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	return c
}

// startNginx runs nginx in the foreground with the nginx.conf skeleton and
// the "cache" block of testdata/<conf>.
func startNginx(t *testing.T, conf string, backendPort int) *cache {
	t.Helper()
	nginx := tool(t, "nginx")
	c := &cache{kind: "nginx"}
	prefix := t.TempDir()
	port := serve(t, "nginx", func(port int) *process {
		file := render(t, prefix, "nginx.conf", config{Port: port, BackendPort: backendPort, Prefix: prefix}, "nginx.conf", conf)
		return startProcess(t, "nginx", nil, nginx,
			"-p", prefix, "-c", file,
			"-e", "stderr", // before the config is read, nginx would open /var/log/nginx/error.log
			"-g", "daemon off;")
	})
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	return c
}

// hit says whether the cache served a response from storage, as the cache
// itself reports it: Varnish's X-Varnish carries two transaction IDs on a
// hit (the request's and the stored object's), nginx's
// $upstream_cache_status says HIT.
func (c *cache) hit(h http.Header) bool {
	if c.kind == "varnish" {
		return len(strings.Fields(h.Get("X-Varnish"))) == 2
	}
	return h.Get("X-Cache-Status") == "HIT"
}

// varnishCounters reads Varnish's own counters with varnishstat, once
// they account for at least requests client requests. Varnish sums each
// worker thread's counters into the shared ones only from time to time
// (when the thread goes idle, for one), so the harness closes its
// keep-alive connections and polls, bounded.
func (c *cache) varnishCounters(t *testing.T, requests uint64, names ...string) map[string]uint64 {
	t.Helper()
	client.CloseIdleConnections()
	names = append(names, "MAIN.client_req")
	var got map[string]uint64
	for deadline := time.Now().Add(startTimeout); ; {
		got = c.readVarnishstat(t, names)
		if got["MAIN.client_req"] >= requests {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("varnishstat counts %d client requests, the harness sent %d", got["MAIN.client_req"], requests)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cache) readVarnishstat(t *testing.T, names []string) map[string]uint64 {
	t.Helper()
	args := []string{"-n", c.workdir, "-1", "-j"}
	for _, n := range names {
		args = append(args, "-f", n)
	}
	out, err := exec.Command(c.stat, args...).Output()
	if err != nil {
		t.Fatalf("varnishstat: %v", err)
	}
	// Varnish 7 nests the counters under "counters"; 6 did not.
	var doc struct {
		Counters map[string]struct {
			Value uint64 `json:"value"`
		} `json:"counters"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("varnishstat output: %v\n%s", err, out)
	}
	got := map[string]uint64{}
	for _, n := range names {
		v, ok := doc.Counters[n]
		if !ok {
			t.Fatalf("varnishstat has no counter %s:\n%s", n, out)
		}
		got[n] = v.Value
	}
	return got
}
