package fetch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cachefence/cachefence/audit"
	acloudflare "github.com/cachefence/cachefence/audit/cloudflare"
	"github.com/cachefence/cachefence/internal/ctxsleep"
)

// Cloudflare is a zone: the entry point ruleset of its cache rules and
// its active Page Rules, read through the API with a token.
type Cloudflare struct {
	// Zone is the zone's ID.
	Zone string
	// Token is the API token; it is sent, never shown.
	Token string
	// TokenEnv names where the token came from, for errors.
	TokenEnv string
	// BaseURL is the API's, DefaultCloudflareAPI in use.
	BaseURL string
	// MaxBytes bounds an answer; 0 means DefaultMaxBytes.
	MaxBytes int64

	// sleep waits d, or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Name is "cloudflare:ZONE".
func (c *Cloudflare) Name() string { return "cloudflare:" + c.Zone }

// Throttling: a 429 is tried again after its Retry-After, at most
// maxThrottled times, and only if the wait is at most maxRetryAfter:
// Cloudflare blocks a token over its global limit for five minutes, and a
// run should rather fail and count a fetch error than hang.
const (
	maxThrottled  = 3
	maxRetryAfter = time.Minute
)

// maxPages bounds the pages of one list.
const maxPages = 100

// noEntrypoint is the error code of a phase that has no entry point
// ruleset: a zone that never had a cache rule.
const noEntrypoint = 10003

// Fetch returns the zone's cache rules ruleset and its Page Rules, as the
// API returns them. A zone without cache rules, or without Page Rules,
// has no file for them.
func (c *Cloudflare) Fetch(ctx context.Context) ([]audit.File, error) {
	files, err := c.fetch(ctx)
	return files, scrubbed(err, c.Token)
}

func (c *Cloudflare) fetch(ctx context.Context) ([]audit.File, error) {
	var files []audit.File
	zone := "/zones/" + url.PathEscape(c.Zone)
	body, err := c.get(ctx, zone+"/rulesets/phases/"+acloudflare.CachePhase+"/entrypoint", nil)
	var apiErr *cloudflareError
	switch {
	case errors.As(err, &apiErr) && apiErr.status == http.StatusNotFound && apiErr.has(noEntrypoint):
	case err != nil:
		return nil, err
	default:
		files = append(files, audit.File{Path: c.Name() + "/cache-rules.json", Data: body})
	}
	rules, err := c.list(ctx, zone+"/pagerules", url.Values{"status": {"active"}})
	if err != nil {
		return nil, err
	}
	if len(rules) > 0 {
		data, err := json.MarshalIndent(map[string]any{"success": true, "result": rules}, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding page rules: %w", err)
		}
		files = append(files, audit.File{Path: c.Name() + "/pagerules.json", Data: data})
	}
	return files, nil
}

// envelope is the API's answer, success or not.
type envelope struct {
	Success    bool            `json:"success"`
	Errors     []apiMessage    `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *struct {
		Page       int `json:"page"`
		TotalPages int `json:"total_pages"`
	} `json:"result_info"`
}

type apiMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// list reads a list, following Cloudflare's page and per_page convention
// if the answer says it has more pages, so that a partial list is never
// audited as the whole.
func (c *Cloudflare) list(ctx context.Context, path string, query url.Values) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for page := 1; ; page++ {
		if page > 1 {
			query.Set("page", strconv.Itoa(page))
		}
		body, err := c.get(ctx, path, query)
		if err != nil {
			return nil, err
		}
		var env envelope
		var items []json.RawMessage
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("GET %s: the answer is not the API's JSON: %w", path, err)
		}
		if err := json.Unmarshal(env.Result, &items); err != nil && len(env.Result) > 0 && string(env.Result) != "null" {
			return nil, fmt.Errorf("GET %s: the result is not a list: %w", path, err)
		}
		all = append(all, items...)
		if env.ResultInfo == nil || page >= env.ResultInfo.TotalPages {
			return all, nil
		}
		if page >= maxPages {
			return nil, fmt.Errorf("GET %s: more than %d pages", path, maxPages)
		}
	}
}

// get returns the body of a successful answer, trying a throttled
// request again after its Retry-After.
func (c *Cloudflare) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		body, retryAfter, err := c.getOnce(ctx, path, query)
		if retryAfter < 0 || attempt >= maxThrottled || retryAfter > maxRetryAfter {
			return body, err
		}
		sleep := c.sleep
		if sleep == nil {
			sleep = ctxsleep.Sleep
		}
		if err := sleep(ctx, retryAfter); err != nil {
			return nil, fmt.Errorf("GET %s: throttled, and %w while waiting", path, err)
		}
	}
}

// getOnce sends one request. retryAfter is how long to wait before
// trying again after a 429, or -1.
func (c *Cloudflare) getOnce(ctx context.Context, path string, query url.Values) (body []byte, retryAfter time.Duration, err error) {
	retryAfter = -1
	u := strings.TrimSuffix(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, retryAfter, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	// The context bounds the request: --fetch-timeout.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// A *url.Error names the URL, which holds no secret.
		return nil, retryAfter, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	limit := cmp.Or(c.MaxBytes, DefaultMaxBytes)
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return nil, retryAfter, fmt.Errorf("GET %s: reading the answer: %w", path, err)
	case int64(len(body)) > limit:
		return nil, retryAfter, fmt.Errorf("GET %s: the answer is over %d bytes", path, limit)
	}
	var env envelope
	jsonErr := json.Unmarshal(body, &env)
	if resp.StatusCode == http.StatusOK && jsonErr == nil && env.Success {
		return body, retryAfter, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	return nil, retryAfter, &cloudflareError{path: path, status: resp.StatusCode, errors: env.Errors,
		tokenEnv: c.TokenEnv, retryAfter: retryAfter}
}

// parseRetryAfter reads Retry-After, in seconds (as Cloudflare sends it)
// or as an HTTP date; without one, a throttled request waits a second.
func parseRetryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return time.Second
}

// cloudflareError is a failed answer: its status and the API's errors.
type cloudflareError struct {
	path       string
	status     int
	errors     []apiMessage
	tokenEnv   string
	retryAfter time.Duration
}

func (e *cloudflareError) has(code int) bool {
	for _, m := range e.errors {
		if m.Code == code {
			return true
		}
	}
	return false
}

// Authentication codes: 9109 an invalid or expired token (or one used
// from an address it is not allowed from), 10000 an authentication
// error, 9106 and 9107 a missing or malformed header.
var authCodes = []int{9106, 9107, 9109, 10000}

func (e *cloudflareError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s: %d %s", e.path, e.status, http.StatusText(e.status))
	for _, m := range e.errors {
		fmt.Fprintf(&b, "; %d %s", m.Code, m.Message)
	}
	auth := e.status == http.StatusUnauthorized || e.status == http.StatusForbidden
	for _, code := range authCodes {
		auth = auth || e.has(code)
	}
	switch {
	case auth:
		fmt.Fprintf(&b, " (check the API token in $%s: it must be valid and read the zone's Cache Settings and Page Rules)", e.tokenEnv)
	case e.retryAfter >= 0:
		fmt.Fprintf(&b, " (throttled: Retry-After %s)", e.retryAfter)
	}
	return b.String()
}
