package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/fence"
	"github.com/cachefence/cachefence/internal/stampvectors"
)

// cfCase is one run of the CloudFront Function in the harness
// (testdata/cloudfront/harness.mjs).
type cfCase struct {
	Name  string         `json:"name"`
	Event map[string]any `json:"event"`
	// RawQuery is what request.rawQueryString() returns: nil without a
	// "?" in the request.
	RawQuery *string `json:"raw_query"`
	// NoRawQueryString leaves rawQueryString() out of the request.
	NoRawQueryString bool              `json:"no_raw_query_string,omitempty"`
	KVS              map[string]string `json:"kvs"`
	// Now is the time the function runs at, in Unix milliseconds.
	Now int64 `json:"now"`
}

// cfResult is what the harness saw of a run.
type cfResult struct {
	Name     string         `json:"name"`
	Response map[string]any `json:"response"`
	HMACs    int            `json:"hmacs"`
	KVSReads []string       `json:"kvs_reads"`
	Logs     []string       `json:"logs"`
	Error    string         `json:"error"`
}

// cookieModel is how the harness supposes CloudFront parses the Cookie
// lines into the event's cookies object, which AWS documents only as "one
// field for each cookie", duplicates collapsed into multiValue.
type cookieModel struct {
	name string
	// separators split a line into pairs; a pair without "=" is a name
	// with an empty value.
	separators string
	// lowerNames: one version of the event structure page says cookie
	// names are lower case in production.
	lowerNames bool
	// unrepresentable are the vectors the event cannot show exactly under
	// this model, and why: the guard must refuse them, whatever the stamp.
	unrepresentable map[string]string
}

var cookieModels = func() []cookieModel {
	base := map[string]string{
		"pair without =": `the event shows "stray" as a cookie with an empty value, as it would show "stray="`,
	}
	lower := map[string]string{"session globs fold case": "SessionID reaches the function as sessionid, the fence read SessionID"}
	for k, v := range base {
		lower[k] = v
	}
	return []cookieModel{
		{name: "split on ;", separators: ";", unrepresentable: base},
		{name: "split on ; and ,", separators: ";,", unrepresentable: base},
		{name: "names in lower case", separators: ";", lowerNames: true, unrepresentable: lower},
	}
}()

// cfEvent returns AWS's example viewer-response event
// (testdata/cloudfront/viewer-response-event.json), a fresh copy.
func cfEvent(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cloudfront", "viewer-response-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Event map[string]any `json:"event"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Event
}

// field appends a value to an event's query string, header or cookie
// object as CloudFront documents it: one field per name, duplicates in
// multiValue with the first repeated in value.
func field(obj map[string]any, name, value string) {
	f, ok := obj[name].(map[string]any)
	if !ok {
		obj[name] = map[string]any{"value": value}
		return
	}
	mv, _ := f["multiValue"].([]any)
	if mv == nil {
		mv = []any{map[string]any{"value": f["value"]}}
	}
	f["multiValue"] = append(mv, map[string]any{"value": value})
}

// cfRequestCase returns the case of a request to url with headers (names
// as sent), built on AWS's example event, whose response carries stamp
// (none if empty): header names in lower case, Cookie lines parsed into
// cookies by m, the query string parsed into querystring and kept raw for
// rawQueryString().
func cfRequestCase(t *testing.T, name, url string, headers [][2]string, m cookieModel, stamp string) cfCase {
	t.Helper()
	event := cfEvent(t)
	req := event["request"].(map[string]any)
	path, query, hasQuery := strings.Cut(url, "?")
	req["uri"] = path
	qs, cookies := map[string]any{}, map[string]any{}
	if query != "" {
		for _, p := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(p, "=")
			field(qs, k, v)
		}
	}
	req["querystring"], req["cookies"] = qs, cookies
	hs := req["headers"].(map[string]any)
	for _, h := range headers {
		if !strings.EqualFold(h[0], "Cookie") {
			delete(hs, strings.ToLower(h[0]))
		}
	}
	for _, h := range headers {
		if !strings.EqualFold(h[0], "Cookie") {
			field(hs, strings.ToLower(h[0]), h[1])
			continue
		}
		for _, pair := range strings.FieldsFunc(h[1], func(r rune) bool { return strings.ContainsRune(m.separators, r) }) {
			pair = strings.Trim(pair, " \t")
			if pair == "" {
				continue
			}
			k, v, _ := strings.Cut(pair, "=")
			if m.lowerNames {
				k = strings.ToLower(k)
			}
			field(cookies, k, v)
		}
	}
	if stamp != "" {
		event["response"].(map[string]any)["headers"].(map[string]any)["cache-fence-owner"] = map[string]any{"value": stamp}
	}
	c := cfCase{Name: name, Event: event}
	if hasQuery {
		c.RawQuery = &query
	}
	return c
}

// runCloudFront runs code under Node in the harness
// (testdata/cloudfront/harness.mjs) on cases, in order.
func runCloudFront(t *testing.T, code []byte, cases []cfCase) []cfResult {
	t.Helper()
	node := requireTool(t, "node", "nodejs")
	guardPath := filepath.Join(t.TempDir(), "guard.js")
	if err := os.WriteFile(guardPath, code, 0o600); err != nil {
		t.Fatal(err)
	}
	return runEngine(t, exec.Command(node, "--experimental-vm-modules", "--no-warnings", filepath.Join("testdata", "cloudfront", "harness.mjs"), guardPath), cases)
}

// runEngine runs a harness with a file of cases as its last argument (njs
// reads no pipe), and reads the result of each from its output.
func runEngine(t *testing.T, cmd *exec.Cmd, cases []cfCase) []cfResult {
	t.Helper()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	casesPath := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(casesPath, in, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Args = append(cmd.Args, casesPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", filepath.Base(cmd.Path), err, out, stderr.String())
	}
	var results []cfResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r cfResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s printed %q: %v", filepath.Base(cmd.Path), sc.Text(), err)
		}
		if r.Error != "" {
			t.Fatalf("%s: the function failed under %s: %s", r.Name, filepath.Base(cmd.Path), r.Error)
		}
		results = append(results, r)
	}
	if len(results) != len(cases) {
		t.Fatalf("%s answered %d cases of %d\n%s", filepath.Base(cmd.Path), len(results), len(cases), stderr.String())
	}
	return results
}

// cloudFrontFor generates the function for the vectors' configuration
// named config.
func cloudFrontFor(t *testing.T, vf *stampvectors.File, config, onMismatch string) []byte {
	t.Helper()
	code, err := Generate("cloudfront-function", Config{Rules: vf.Configs[config].Fence(),
		KeyName: "CACHE_FENCE_KEY", OnMismatch: onMismatch, Source: "Caddyfile", Version: "cachefence test"})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// delivered says whether the function let the response through as it
// came (true) or refused it, and fails the test on anything else.
func delivered(t *testing.T, c cfCase, r cfResult) bool {
	t.Helper()
	if reflect.DeepEqual(r.Response, c.Event["response"]) {
		return true
	}
	assertRefusal(t, r)
	return false
}

// assertRefusal checks that r is the guard's 503, with nothing of the page.
func assertRefusal(t *testing.T, r cfResult) {
	t.Helper()
	const body = "This page was not made for you. Please retry.\n"
	want := map[string]any{
		"statusCode": float64(503), "statusDescription": "Service Unavailable",
		"headers": map[string]any{
			"cache-control":     map[string]any{"value": "private, no-store"},
			"content-type":      map[string]any{"value": "text/plain; charset=utf-8"},
			"content-length":    map[string]any{"value": strconv.Itoa(len(body))},
			"retry-after":       map[string]any{"value": "1"},
			"cache-fence-guard": map[string]any{"value": "refused"},
		},
		"cookies": map[string]any{},
		// The documented shape of a replaced body (Example response object).
		"body": map[string]any{"encoding": "text", "data": body},
	}
	if !reflect.DeepEqual(r.Response, want) {
		got, _ := json.Marshal(r.Response)
		t.Errorf("%s: the function answered %s, want the guard's 503 and nothing of the page", r.Name, got)
	}
	if len(r.Logs) != 1 || !strings.Contains(r.Logs[0], `"cachefence_guard":"mismatch"`) || strings.Contains(r.Logs[0], "jsessionid") {
		t.Errorf("%s: logged %q, want one mismatch line, without path parameters", r.Name, r.Logs)
	}
}

// vectorCases returns, for each vector of config, a run with each
// vector's stamp, and whether the function must deliver it: only to the
// owner the event shows exactly.
func vectorCases(t *testing.T, vf *stampvectors.File, config string, m cookieModel) (cases []cfCase, wantOwner []bool) {
	t.Helper()
	stamps := map[string]string{} // stamp: identity
	for _, v := range vf.Vectors {
		stamps[v.Stamp] = v.Identity
	}
	for _, v := range vf.Vectors {
		if v.Config != config {
			continue
		}
		for stamp, id := range stamps {
			c := cfRequestCase(t, v.Name, v.URL, v.Headers, m, stamp)
			c.KVS = map[string]string{"CACHE_FENCE_KEY": vf.Key}
			cases = append(cases, c)
			_, unrepresentable := m.unrepresentable[v.Name]
			wantOwner = append(wantOwner, id == v.Identity && !unrepresentable)
		}
	}
	return cases, wantOwner
}

// TestCloudFrontVectors holds the CloudFront Function to the shared stamp
// vectors, under each way CloudFront may parse the Cookie lines: a request
// the event shows exactly is its stamp's owner and no other stamp's; one
// it cannot show is refused whatever the stamp, never taken for an owner.
func TestCloudFrontVectors(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, m := range cookieModels {
		for name := range m.unrepresentable {
			if !slices.ContainsFunc(vf.Vectors, func(v stampvectors.Vector) bool { return v.Name == name }) {
				t.Fatalf("%s: %q is listed as not representable but is no vector", m.name, name)
			}
		}
		for config := range vf.Configs {
			cases, wantOwner := vectorCases(t, vf, config, m)
			for i, r := range runCloudFront(t, cloudFrontFor(t, vf, config, OnMismatchRefuse), cases) {
				if got := delivered(t, cases[i], r); got != wantOwner[i] {
					stamp := cases[i].Event["response"].(map[string]any)["headers"].(map[string]any)["cache-fence-owner"]
					t.Errorf("cookies %s: vector %q with stamp %v: delivered %v, want %v (%s)", m.name, r.Name, stamp, got, wantOwner[i], m.unrepresentable[r.Name])
				}
			}
			runs += len(cases)
		}
	}
	t.Logf("%d runs: %d vectors, each with every vector's stamp, under %d cookie parsings", runs, len(vf.Vectors), len(cookieModels))
}

// TestCloudFrontGuard checks the function's paths on AWS's example event:
// the owner and unstamped pages delivered as they came, a page stamped
// for someone else, a missing key and a request the event cannot show
// refused, and the previous key accepted until its time.
func TestCloudFrontGuard(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := guardCases(t, vf)
	var cases []cfCase
	for _, tt := range tests {
		cases = append(cases, tt.c)
	}
	for i, r := range runCloudFront(t, cloudFrontFor(t, vf, "ignore", OnMismatchRefuse), cases) {
		tt := tests[i]
		if got := delivered(t, tt.c, r); got != tt.delivered {
			t.Errorf("%s: delivered %v, want %v", r.Name, got, tt.delivered)
		}
		if r.HMACs != tt.hmacs {
			t.Errorf("%s: %d HMACs, want %d", r.Name, r.HMACs, tt.hmacs)
		}
		if tt.hmacs == 0 && tt.delivered && (len(r.KVSReads) > 0 || len(r.Logs) > 0) {
			t.Errorf("%s: read %q and logged %q for an unstamped page", r.Name, r.KVSReads, r.Logs)
		}
	}
}

// guardCase is a run of the function for the "ignore" configuration,
// whether it must deliver the page as it came, and the HMACs it takes.
type guardCase struct {
	c         cfCase
	delivered bool
	hmacs     int
}

func guardCases(t *testing.T, vf *stampvectors.File) []guardCase {
	t.Helper()
	alice := [][2]string{{"Cookie", "_ga=GA1.2.3; session=alice"}}
	aliceID := "cookie\x00session=alice\x00"
	key := map[string]string{"CACHE_FENCE_KEY": vf.Key}
	oldKey := "an older key, rotated out"
	const until = 1_800_000_000_000 // 2027-01-15T08:00:00Z
	rotated := map[string]string{"CACHE_FENCE_KEY": vf.Key, "CACHE_FENCE_KEY_PREVIOUS": oldKey,
		"CACHE_FENCE_KEY_PREVIOUS_UNTIL": "2027-01-15T08:00:00Z"}
	stampFor := func(k, id string) string { return fence.OwnerStamp([]byte(k), id) }
	m := cookieModels[0]
	with := func(c cfCase, kvs map[string]string, now int64) cfCase {
		c.KVS, c.Now = kvs, now
		return c
	}
	// Without rawQueryString() the query cannot be read as sent: refused,
	// even for the page of the same request without its query.
	noRaw := cfRequestCase(t, "no rawQueryString, a query", "/account?sid=7", alice, m, stampFor(vf.Key, aliceID))
	noRaw.NoRawQueryString = true
	noRawEmpty := cfRequestCase(t, "no rawQueryString, no query", "/account", alice, m, stampFor(vf.Key, aliceID))
	noRawEmpty.NoRawQueryString = true
	unstamped := cfCase{Name: "AWS's example event, unstamped", Event: cfEvent(t), KVS: key}
	// Two stamps, the requester's first: the fence sends one, and a
	// page with two is not plainly anyone's.
	twoStamps := cfRequestCase(t, "two stamps, the owner's first", "/account", alice, m, stampFor(vf.Key, aliceID))
	field(twoStamps.Event["response"].(map[string]any)["headers"].(map[string]any), "cache-fence-owner", stampFor(vf.Key, "cookie\x00session=bob\x00"))
	return []guardCase{
		{unstamped, true, 0},
		{with(cfRequestCase(t, "owner", "/account", alice, m, stampFor(vf.Key, aliceID)), key, 0), true, 1},
		{with(cfRequestCase(t, "someone else's page", "/account", [][2]string{{"Cookie", "session=bob"}}, m, stampFor(vf.Key, aliceID)), key, 0), false, 1},
		{with(cfRequestCase(t, "anonymous, a personal page", "/account", nil, m, stampFor(vf.Key, aliceID)), key, 0), false, 1},
		{with(cfRequestCase(t, "owner, no key in the store", "/account", alice, m, stampFor(vf.Key, aliceID)), nil, 0), false, 0},
		{with(cfRequestCase(t, "owner, old key before its time", "/account", alice, m, stampFor(oldKey, aliceID)), rotated, until-1), true, 2},
		{with(cfRequestCase(t, "owner, old key at its time", "/account", alice, m, stampFor(oldKey, aliceID)), rotated, until), false, 1},
		{with(cfRequestCase(t, "owner, new key while rotating", "/account", alice, m, stampFor(vf.Key, aliceID)), rotated, until-1), true, 1},
		{with(cfRequestCase(t, "owner, old key without a time", "/account", alice, m, stampFor(oldKey, aliceID)),
			map[string]string{"CACHE_FENCE_KEY": vf.Key, "CACHE_FENCE_KEY_PREVIOUS": oldKey}, 0), false, 1},
		{with(noRaw, key, 0), false, 0},
		{with(twoStamps, key, 0), false, 0},
		{with(noRawEmpty, key, 0), true, 1},
		// "stray" and "stray=" both reach the function as stray with an
		// empty value, but are two identities to the fence.
		{with(cfRequestCase(t, "a cookie without =, the page of its twin with =", "/", [][2]string{{"Cookie", "stray"}}, m,
			stampFor(vf.Key, "cookie\x00stray=\x00")), key, 0), false, 0},
		{with(cfRequestCase(t, "owner, beyond ASCII", "/account", [][2]string{{"Cookie", "session=al\u00efce"}}, m,
			stampFor(vf.Key, "cookie\x00session=al\u00efce\x00")), key, 0), false, 0},
	}
}

// TestCloudFrontNoPass: a function cannot fetch again, so pass is refused
// saying why, and the default is refuse.
func TestCloudFrontNoPass(t *testing.T) {
	c := Config{KeyName: "CACHE_FENCE_KEY", OnMismatch: OnMismatchPass}
	if _, err := Generate("cloudfront-function", c); err == nil || !strings.Contains(err.Error(), "network calls") {
		t.Errorf("pass: %v, want an error quoting why a function cannot fetch again", err)
	}
	c.OnMismatch = ""
	code, err := Generate("cloudfront-function", c)
	if err != nil || !bytes.Contains(code, []byte("cannot fetch it again")) {
		t.Errorf("the default: %v; the function must say it refuses", err)
	}
}

// TestCloudFrontGenerated checks what the function says and carries, and
// that generation fails past CloudFront's size limit.
func TestCloudFrontGenerated(t *testing.T) {
	c := Config{KeyName: "STAMP_KEY", OnMismatch: OnMismatchRefuse, Source: "/etc/caddy/Caddyfile", Version: "cachefence v9.9"}
	code, err := Generate("cloudfront-function", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the function for the fence's defaults is %d bytes of %d", len(code), cloudFrontMaxSize)
	for _, want := range []string{"cachefence v9.9", "/etc/caddy/Caddyfile", "configuration sha256:", "(cloudfront-js-2.0)",
		`var KEY="STAMP_KEY"`, "STAMP_KEY_PREVIOUS_UNTIL", "KeyValueStore", "import cf from 'cloudfront';"} {
		if !bytes.Contains(code, []byte(want)) {
			t.Errorf("the function lacks %q", want)
		}
	}
	c.Rules.IgnoreCookies = make([]string, 400)
	for i := range c.Rules.IgnoreCookies {
		c.Rules.IgnoreCookies[i] = "analytics_cookie_number_" + strings.Repeat("x", i%7)
	}
	if _, err := Generate("cloudfront-function", c); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Generate with 400 ignored cookies = %v, want an error about the size limit", err)
	}
}

// TestCompactJS checks the spaces and line ends compactJS keeps: those
// between tokens, in literals, and where a statement could run on.
func TestCompactJS(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"var a = b + +c;", "var a=b+ +c;"},
		{"x = a - -1;", "x=a- -1;"},
		{"return /[ ]\\/ x/g.test(s) ? 1 : 2;", "return/[ ]\\/ x/g.test(s)?1:2;"},
		{"var r = (a + b) / 2 / c;", "var r=(a+b)/2/c;"},
		{`s.split("; ") // a comment`, `s.split("; ")`},
		{`var u = "http://x y" + 'it\'s  ok';`, `var u="http://x y"+'it\'s  ok';`},
		{"if (typeof x === \"string\") return x;", "if(typeof x===\"string\")return x;"},
		{"  // only a comment\nf(a)\n[1].map(g);", "f(a)\n[1].map(g);"},
		{"function f() {\n  return 1;\n}\nfunction g() {}", "function f(){return 1;}function g(){}"},
		{"if (a) x = 1;\nelse\ny = 2;", "if(a)x=1;else\ny=2;"},
	} {
		if got := strings.TrimSuffix(compactJS(tt.in), "\n"); got != tt.want {
			t.Errorf("compactJS(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// runCloudFrontNjs runs code under njs (testdata/cloudfront/njs/run.js) on
// cases, in order.
func runCloudFrontNjs(t *testing.T, code []byte, cases []cfCase) []cfResult {
	t.Helper()
	njs := requireTool(t, "njs", "njs")
	dir := t.TempDir()
	shim, err := os.ReadFile(filepath.Join("testdata", "cloudfront", "njs", "cloudfront.js"))
	if err != nil {
		t.Fatal(err)
	}
	// njs finds a module by its name as a file in the -p directory.
	for name, b := range map[string][]byte{"guard": append(code, "\nexport default { handler };\n"...), "cloudfront": shim} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runner, err := filepath.Abs(filepath.Join("testdata", "cloudfront", "njs", "run.js"))
	if err != nil {
		t.Fatal(err)
	}
	return runEngine(t, exec.Command(njs, "-t", "module", "-p", dir, runner), cases)
}

// TestCloudFrontNjs runs the function in a second engine, njs, closer to
// CloudFront's own than Node is (an ES 5.1 base, no await in arguments,
// its own crypto and Buffer), on the vectors and the guard's paths: each
// run answers exactly as it does under Node.
func TestCloudFrontNjs(t *testing.T) {
	vf, err := stampvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	compare := func(code []byte, cases []cfCase) {
		t.Helper()
		// Each engine's run may change its event: give each its own.
		again := make([]cfCase, len(cases))
		for i, c := range cases {
			b, _ := json.Marshal(c)
			if err := json.Unmarshal(b, &again[i]); err != nil {
				t.Fatal(err)
			}
		}
		node, njs := runCloudFront(t, code, cases), runCloudFrontNjs(t, code, again)
		for i := range node {
			if !reflect.DeepEqual(node[i].Response, njs[i].Response) || !slices.Equal(node[i].Logs, njs[i].Logs) {
				a, _ := json.Marshal(node[i])
				b, _ := json.Marshal(njs[i])
				t.Errorf("%s: Node and njs differ\nnode %s\nnjs  %s", node[i].Name, a, b)
			}
		}
	}
	for config := range vf.Configs {
		cases, _ := vectorCases(t, vf, config, cookieModels[0])
		compare(cloudFrontFor(t, vf, config, OnMismatchRefuse), cases)
	}
	var cases []cfCase
	for _, tt := range guardCases(t, vf) {
		cases = append(cases, tt.c)
	}
	compare(cloudFrontFor(t, vf, "ignore", OnMismatchRefuse), cases)
}
