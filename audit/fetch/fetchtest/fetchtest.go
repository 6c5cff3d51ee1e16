// Package fetchtest is a fake Cloudflare API on 127.0.0.1 for the tests
// of cachefence audit's cloudflare: sources, answering in the API's
// documented shape: the {"success", "errors", "messages", "result"}
// envelope, its error codes, page-numbered lists and 429s with
// Retry-After.
package fetchtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Failure is an error answer: a status, the API's error code and
// message, and a Retry-After for a 429.
type Failure struct {
	Status     int
	Code       int
	Message    string
	RetryAfter string
}

// Cloudflare is the fake API. Its zone's cache rules and Page Rules can
// change between requests, as a console changes them.
type Cloudflare struct {
	// URL is the API's base URL, as --cloudflare-api takes it.
	URL string
	// Token is the only API token it accepts.
	Token string

	mu        sync.Mutex
	ruleset   json.RawMessage // the entry point ruleset, or nil for none
	pageRules []json.RawMessage
	perPage   int
	fail      func(path string, n int) *Failure
	hits      map[string]int
}

// NewCloudflare starts the fake API, which accepts token alone.
func NewCloudflare(t testing.TB, token string) *Cloudflare {
	t.Helper()
	c := &Cloudflare{Token: token, hits: map[string]int{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	c.URL = srv.URL + "/client/v4"
	return c
}

// SetRuleset sets the zone's cache rules ruleset: an API answer (with
// its envelope) or the ruleset alone; nil means the zone has none.
func (c *Cloudflare) SetRuleset(t testing.TB, answer []byte) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if answer == nil {
		c.ruleset = nil
		return
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(answer, &env); err != nil {
		t.Fatal(err)
	}
	c.ruleset = answer
	if env.Result != nil {
		c.ruleset = env.Result
	}
}

// SetPageRules sets the zone's Page Rules from an API answer, and how
// many a page holds (0: one page).
func (c *Cloudflare) SetPageRules(t testing.TB, answer []byte, perPage int) {
	t.Helper()
	var env struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(answer, &env); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pageRules, c.perPage = env.Result, perPage
}

// SetFail has fail answer requests: given a request's path and how many
// times it was asked for, it returns a Failure, or nil to answer as
// usual.
func (c *Cloudflare) SetFail(fail func(path string, n int) *Failure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = fail
}

// Hits returns how many times path was asked for.
func (c *Cloudflare) Hits(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

// ServeHTTP answers GET /zones/{zone}/rulesets/phases/{phase}/entrypoint
// and GET /zones/{zone}/pagerules.
func (c *Cloudflare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/client/v4")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits[path]++
	if r.Header.Get("Authorization") != "Bearer "+c.Token {
		answer(w, http.StatusForbidden, nil, nil, Failure{Code: 9109, Message: "Invalid access token"})
		return
	}
	if c.fail != nil {
		if f := c.fail(path, c.hits[path]); f != nil {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			answer(w, f.Status, nil, nil, *f)
			return
		}
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method != http.MethodGet || len(parts) < 3 || parts[0] != "zones":
		answer(w, http.StatusNotFound, nil, nil, Failure{Code: 7003, Message: "Could not route to " + path + ", perhaps your object identifier is invalid?"})
	case len(parts) == 6 && parts[2] == "rulesets" && parts[3] == "phases" && parts[5] == "entrypoint":
		if c.ruleset == nil {
			answer(w, http.StatusNotFound, nil, nil, Failure{Code: 10003, Message: "could not find entrypoint ruleset in the " + parts[4] + " phase"})
			return
		}
		answer(w, http.StatusOK, c.ruleset, nil)
	case len(parts) == 3 && parts[2] == "pagerules":
		c.servePageRules(w, r)
	default:
		answer(w, http.StatusNotFound, nil, nil, Failure{Code: 7003, Message: "Could not route to " + path + ", perhaps your object identifier is invalid?"})
	}
}

// servePageRules lists the Page Rules of the status asked for, a page at
// a time if perPage is set.
func (c *Cloudflare) servePageRules(w http.ResponseWriter, r *http.Request) {
	var rules []json.RawMessage
	for _, rule := range c.pageRules {
		var r2 struct {
			Status string `json:"status"`
		}
		json.Unmarshal(rule, &r2)
		if s := r.URL.Query().Get("status"); s == "" || s == r2.Status {
			rules = append(rules, rule)
		}
	}
	if c.perPage == 0 {
		body, _ := json.Marshal(rules)
		answer(w, http.StatusOK, body, nil)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	pages := max((len(rules)+c.perPage-1)/c.perPage, 1)
	start, end := min((page-1)*c.perPage, len(rules)), min(page*c.perPage, len(rules))
	body, _ := json.Marshal(rules[start:end])
	answer(w, http.StatusOK, body, map[string]int{"page": page, "per_page": c.perPage, "count": end - start,
		"total_count": len(rules), "total_pages": pages})
}

// answer writes the API's envelope: the result on success, the errors
// otherwise.
func answer(w http.ResponseWriter, status int, result json.RawMessage, info map[string]int, errs ...Failure) {
	type message struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	env := struct {
		Success    bool            `json:"success"`
		Errors     []message       `json:"errors"`
		Messages   []message       `json:"messages"`
		Result     json.RawMessage `json:"result"`
		ResultInfo map[string]int  `json:"result_info,omitempty"`
	}{Success: len(errs) == 0, Errors: []message{}, Messages: []message{}, Result: result, ResultInfo: info}
	if result == nil {
		env.Result = json.RawMessage("null")
	}
	for _, e := range errs {
		env.Errors = append(env.Errors, message{e.Code, e.Message})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write is a client gone: nothing to tell it.
	_ = json.NewEncoder(w).Encode(env)
}
