package integration

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The hardening tests (issue 9): for each class of input that once let a
// personal page out as cacheable, two visitors ask through a real cache,
// without and then with the fence. Without it, the second visitor must get
// the first one's page, which proves the set-up can show the leak; with
// it, the second visitor must get their own page. Public pages that the
// old rules fenced for nothing must now be hits.
//
// The cache talks to a router (testdata/hardening.Caddyfile: `cachefence
// run`, with or without cache_fence) in front of three origins: a Go one
// (hardeningOrigin), PHP's built-in server running testdata/php_origin.php,
// and Python's http.server running testdata/python_origin.py. The PHP and
// Python origins read their session cookie with their own parsers: the
// disagreement between those and the fence is the point.

// hardeningRequest is one visitor's request and whom its page is for.
type hardeningRequest struct {
	path   string
	header http.Header
	owner  string // the page the origin renders for this request
}

type hardeningCase struct {
	class, name string
	// caches are those whose configuration (varnish_hardening.vcl,
	// nginx_hardening.conf) hands the first page to the second visitor
	// when nothing fences it.
	caches        []string
	first, second hardeningRequest
	// reason is what the fence must name for the first response.
	reason string
}

func cookie(v string) http.Header { return http.Header{"Cookie": {v}} }

var hardeningCases = []hardeningCase{{
	class: "paths", name: "public_path_in_another_case", caches: []string{"varnish", "nginx"},
	// Caddy's path matcher folds case; this origin's router does not, and
	// renders a personal page for /h/MEDIA/logo.
	first:  hardeningRequest{"/h/MEDIA/logo", cookie("session=alice"), "alice"},
	second: hardeningRequest{"/h/MEDIA/logo", cookie("session=bob"), "bob"},
	reason: "session_cookie",
}, {
	class: "paths", name: "public_path_with_doubled_slashes", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"//h/media/logo", cookie("session=alice"), "alice"},
	second: hardeningRequest{"//h/media/logo", cookie("session=bob"), "bob"},
	reason: "session_cookie",
}, {
	class: "credentials", name: "api_key_header", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/h/api/key", http.Header{"X-Api-Key": {"alice"}}, "alice"},
	second: hardeningRequest{"/h/api/key", http.Header{"X-Api-Key": {"bob"}}, "bob"},
	reason: "credential_header",
}, {
	class: "credentials", name: "access_token_query", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/h/api/token?access_token=alice", nil, "alice"},
	second: hardeningRequest{"/h/api/token?access_token=bob", nil, "bob"},
	reason: "credential_param",
}, {
	class: "credentials", name: "jsessionid_path_parameter", caches: []string{"varnish"},
	first:  hardeningRequest{"/h/cart;jsessionid=alice", nil, "alice"},
	second: hardeningRequest{"/h/cart;jsessionid=bob", nil, "bob"},
	reason: "credential_param",
}, {
	class: "cookies", name: "python_space_separated", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/h/py/page", cookie("_ga=GA1.2.1 sessionid=alice"), "alice"},
	second: hardeningRequest{"/h/py/page", cookie("_ga=GA1.2.2 sessionid=bob"), "bob"},
	reason: "session_cookie",
}, {
	class: "cookies", name: "php_mangled_name", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/h/php/page", cookie("app.sid=alice"), "alice"},
	second: hardeningRequest{"/h/php/page", cookie("app.sid=bob"), "bob"},
	reason: "session_cookie",
}, {
	class: "deception", name: "css_path_answered_as_text", caches: []string{"varnish", "nginx"},
	// The victim is lured to a stylesheet URL of their account; the
	// attacker fetches it after them.
	first:  hardeningRequest{"/h/account/x.css", cookie("session=alice"), "alice"},
	second: hardeningRequest{"/h/account/x.css", nil, "anonymous"},
	reason: "path_confusion",
}, {
	class: "deception", name: "jsonp_script", caches: []string{"varnish", "nginx"},
	first:  hardeningRequest{"/h/api/user.js?callback=cb", cookie("session=alice"), "alice"},
	second: hardeningRequest{"/h/api/user.js?callback=cb", nil, "anonymous"},
	reason: "session_cookie",
}, {
	class: "credentials", name: "session_in_a_response_header", caches: []string{"varnish", "nginx"},
	// Spring Session's header mode: an anonymous request gets a new
	// session, whose id comes back as X-Auth-Token on that response. The
	// page names whom the session was minted for (X-Visitor stands for
	// whatever told visitors apart: nothing a cache keys on).
	first:  hardeningRequest{"/h/spring/session", http.Header{"X-Visitor": {"alice"}}, "alice"},
	second: hardeningRequest{"/h/spring/session", http.Header{"X-Visitor": {"bob"}}, "bob"},
	reason: "set_credential",
}, {
	class: "paths", name: "image_rendered_per_user_on_a_public_path", caches: []string{"varnish", "nginx"},
	// A Django view behind a login returning the user's avatar as a
	// FileResponse under /media/: an image type, and none of a file
	// server's marks.
	first:  hardeningRequest{"/h/media/avatar.png", cookie("session=alice"), "alice"},
	second: hardeningRequest{"/h/media/avatar.png", cookie("session=bob"), "bob"},
	reason: "session_cookie",
}, {
	class: "targeted", name: "vendor_cdn_cache_control", caches: []string{"varnish"},
	// The page is personal through a remember-me cookie the operator did
	// not list: only the targeted header's ambiguity fences it.
	first:  hardeningRequest{"/h/dash", cookie("remember=alice"), "alice"},
	second: hardeningRequest{"/h/dash", cookie("remember=bob"), "bob"},
	reason: "targeted_override",
}}

// hardeningPublic are pages the old rules fenced although nothing in them
// is personal: through the fence, the second visitor must get a stored
// copy.
var hardeningPublic = []struct {
	name          string
	first, second hardeningRequest
	// caches are those that store the page at all; nil means both.
	caches []string
}{
	{"nextjs_bare_stale_while_revalidate",
		hardeningRequest{"/h/isr", nil, "public"}, hardeningRequest{"/h/isr", nil, "public"}, nil},
	{"vary_cookie_without_a_cookie",
		hardeningRequest{"/h/vary", nil, "anonymous"}, hardeningRequest{"/h/vary", nil, "anonymous"}, nil},
	{"source_map_served_as_json",
		hardeningRequest{"/h/media/app.js.map", nil, "public"}, hardeningRequest{"/h/media/app.js.map", nil, "public"}, nil},
	{"script_on_a_public_path_with_a_session",
		hardeningRequest{"/h/media/app.js", cookie("session=alice"), "public"}, hardeningRequest{"/h/media/app.js", cookie("session=bob"), "public"}, nil},
	// Issue 16's over-fencing: a tarball stored by the AWS CLI as
	// application/x-tar, a source map that Caddy's file_server sends
	// untyped, nginx's `expires 1y` beside `add_header Cache-Control
	// public`, and RFC 9213's own example (which nginx, reading
	// Cache-Control: no-store, does not store at all).
	{"tarball_with_the_type_inside",
		hardeningRequest{"/h/media/release.tar.gz", nil, "public"}, hardeningRequest{"/h/media/release.tar.gz", nil, "public"}, nil},
	{"untyped_source_map_from_file_server",
		hardeningRequest{"/h/files/app.js.map", nil, "public"}, hardeningRequest{"/h/files/app.js.map", nil, "public"}, nil},
	{"cache_control_lines_that_agree",
		hardeningRequest{"/h/lines", nil, "public"}, hardeningRequest{"/h/lines", nil, "public"}, nil},
	{"rfc9213_split",
		hardeningRequest{"/h/split", nil, "public"}, hardeningRequest{"/h/split", nil, "public"}, []string{"varnish"}},
}

// replay has the two visitors of the case ask c, a cache of the given
// kind, for their pages, with or without the fence in front of the
// origin, and fails unless the first visitor's page reaches the second
// exactly when the case says it must: without the fence, in the caches it
// names. suite names the test in the summary.
func (tc hardeningCase) replay(ctx context.Context, t *testing.T, c *cache, suite, kind string, fenced bool) {
	variant := map[bool]string{false: "without_fence", true: "with_fence"}[fenced]
	first, err := fetch(ctx, c, tc.first.path, tc.first.header)
	if err != nil || first.owner != tc.first.owner {
		t.Fatalf("first visitor: owner %q, err %v; want %s's page", first.owner, err, tc.first.owner)
	}
	second, err := fetch(ctx, c, tc.second.path, tc.second.header)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "%-9s %-12s %-40s %-8s %-14s second visitor got %s's page (cache hit %v, fence %q)",
		suite, tc.class, tc.name, kind, variant, second.owner, second.hit, first.verdict)
	leaked := second.owner == tc.first.owner
	switch {
	case !fenced && slices.Contains(tc.caches, kind) && !leaked:
		t.Fatalf("no leak without the fence: the set-up cannot show what this case is about")
	case fenced && second.owner != tc.second.owner:
		t.Fatalf("through the fence the second visitor got %s's page, want %s's (fence said %q)",
			second.owner, tc.second.owner, first.verdict)
	case fenced && (!strings.HasPrefix(first.verdict, "fenced") || !strings.Contains(first.verdict, tc.reason)):
		t.Fatalf("the first response was not fenced for %s: %q", tc.reason, first.verdict)
	}
}

func TestHardening(t *testing.T) {
	t.Parallel()
	php, python := startPHPOrigin(t), startPythonOrigin(t)
	goOrigin := startHardeningOrigin(t)
	for _, kind := range []string{"varnish", "nginx"} {
		conf := map[string]string{"varnish": "varnish_hardening.vcl", "nginx": "nginx_hardening.conf"}[kind]
		for _, fenced := range []bool{false, true} {
			variant := map[bool]string{false: "without_fence", true: "with_fence"}[fenced]
			t.Run(kind+"/"+variant, func(t *testing.T) {
				router := startRouter(t, fenced, goOrigin, php, python)
				c := startCache(t, kind, conf, router)
				ctx := testContext(t, 2*time.Minute)
				for _, tc := range hardeningCases {
					t.Run(tc.class+"/"+tc.name, func(t *testing.T) { tc.replay(ctx, t, c, "hardening", kind, fenced) })
				}
				if !fenced {
					return
				}
				for _, pc := range hardeningPublic {
					if pc.caches != nil && !slices.Contains(pc.caches, kind) {
						continue
					}
					t.Run("public/"+pc.name, func(t *testing.T) {
						first, err := fetch(ctx, c, pc.first.path, pc.first.header)
						if err != nil {
							t.Fatal(err)
						}
						second, err := fetch(ctx, c, pc.second.path, pc.second.header)
						if err != nil {
							t.Fatal(err)
						}
						report(t, "hardening public       %-34s %-8s %-14s second request hit %v (fence %q)",
							pc.name, kind, variant, second.hit, first.verdict)
						if strings.HasPrefix(pc.first.path, "/h/files/") && len(first.header.Values("Content-Type")) > 0 {
							t.Fatalf("file_server sent Content-Type %q for a source map: this machine's /etc/mime.types names .map, so the case cannot be shown", first.header.Values("Content-Type"))
						}
						if first.verdict != "shared" || !second.hit || second.owner != pc.second.owner {
							t.Fatalf("want a shared page stored and served: fence %q, second hit %v, owner %q",
								first.verdict, second.hit, second.owner)
						}
					})
				}
			})
		}
	}
}

// startRouter runs `cachefence run` with testdata/hardening.Caddyfile and
// returns its port.
func startRouter(t *testing.T, fenced bool, goPort, phpPort, pythonPort int) int {
	t.Helper()
	bin := cachefenceBinary(t)
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(files, "app.js.map"), []byte("owner=public\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return serve(t, "cachefence router", func(port int) *process {
		file := render(t, dir, "Caddyfile", config{Port: port, BackendPort: goPort, PHPPort: phpPort, PythonPort: pythonPort, Fenced: fenced, Files: files}, "hardening.Caddyfile")
		return startProcess(t, "cachefence router", caddyEnv(dir), bin, "run", "--config", file, "--adapter", "caddyfile")
	})
}

func startPHPOrigin(t *testing.T) int {
	t.Helper()
	php := tool(t, "php")
	script, err := filepath.Abs(filepath.Join("testdata", "php_origin.php"))
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, "php -S", func(port int) *process {
		return startProcess(t, "php -S", nil, php, "-S", fmt.Sprintf("127.0.0.1:%d", port), script)
	})
}

func startPythonOrigin(t *testing.T) int {
	t.Helper()
	python := tool(t, "python3")
	return serve(t, "python3", func(port int) *process {
		return startProcess(t, "python3", nil, python, filepath.Join("testdata", "python_origin.py"), fmt.Sprint(port))
	})
}

// startHardeningOrigin serves hardeningOrigin on a free 127.0.0.1 port.
func startHardeningOrigin(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(hardeningOrigin), ReadHeaderTimeout: requestTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// hardeningOrigin is the Go application of the hardening tests. It routes
// on the path as sent, case-sensitively, as Go's and many routers do; its
// personal pages are marked cacheable by mistake (max-age=60), and each
// names, in its body, whom it was rendered for. It reads credentials from
// the session cookie, X-Api-Key, the access_token query parameter and a
// ;jsessionid= path parameter, as an API, an OAuth resource server and a
// servlet container would.
func hardeningOrigin(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	p := r.URL.Path
	owner := "anonymous"
	if c, err := r.Cookie("session"); err == nil {
		owner = c.Value
	}
	personal := func(contentType string) {
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "max-age=60")
	}
	switch {
	case p == "/healthz":
		h.Set("Cache-Control", "no-store")
		owner = "public"
	case p == "/h/media/avatar.png":
		personal("image/png")
	case p == "/h/spring/session":
		owner = cmp.Or(r.Header.Get("X-Visitor"), "anonymous")
		h.Set("X-Auth-Token", "session-of-"+owner)
		personal("application/json")
	case p == "/h/lines":
		owner = "public"
		h.Set("Content-Type", "text/css")
		h["Cache-Control"] = []string{"max-age=31536000", "public"}
	case p == "/h/split":
		owner = "public"
		h.Set("Content-Type", "text/html")
		h.Set("Cache-Control", "no-store")
		h.Set("CDN-Cache-Control", "max-age=600")
	case strings.HasPrefix(p, "/h/media/"):
		h.Set("Cache-Control", "public, max-age=3600")
		switch {
		case strings.HasSuffix(p, ".map"):
			h.Set("Content-Type", "application/json")
		case strings.HasSuffix(p, ".tar.gz"):
			h.Set("Content-Type", "application/x-tar")
		}
		serveFile(w, r, "owner=public\n")
		return
	case p == "/h/api/key":
		owner = cmp.Or(r.Header.Get("X-Api-Key"), "anonymous")
		personal("application/json")
	case p == "/h/api/token":
		owner = cmp.Or(r.URL.Query().Get("access_token"), "anonymous")
		personal("application/json")
	case strings.HasPrefix(p, "/h/cart;jsessionid="):
		owner = strings.TrimPrefix(p, "/h/cart;jsessionid=")
		personal("text/html")
	case strings.HasPrefix(p, "/h/account/"):
		// Everything under /h/account/ is the account, as in Omer Gil's
		// web cache deception write-up: the origin ignores the suffix.
		personal("text/plain; charset=utf-8")
	case p == "/h/api/user.js":
		personal("application/javascript")
		fmt.Fprintf(w, "%s({\"owner=%s\": true});\n", r.URL.Query().Get("callback"), owner)
		return
	case p == "/h/dash":
		// Private for browsers, ten minutes for the CDN that reads its
		// own targeted field first.
		owner = "anonymous"
		if c, err := r.Cookie("remember"); err == nil {
			owner = c.Value
		}
		h.Set("Content-Type", "text/html")
		h.Set("Cache-Control", "private")
		h.Set("Vercel-CDN-Cache-Control", "max-age=600")
	case p == "/h/isr":
		owner = "public"
		h.Set("Content-Type", "text/html")
		h.Set("Cache-Control", "s-maxage=600, stale-while-revalidate")
	case p == "/h/vary":
		// Django's session middleware adds Vary: Cookie to every page;
		// this one is the anonymous page unless a session comes.
		h.Set("Content-Type", "text/html")
		h.Set("Cache-Control", "public, max-age=600")
		h.Set("Vary", "Cookie")
	default:
		// A catch-all that renders for whoever is signed in: a CMS slug,
		// a single-page app's shell.
		personal("text/html")
	}
	io.WriteString(w, "owner="+owner+"\npath="+p+"\n")
}
