// Package replay proves what a self-hosted cache does with personal pages by
// running it: the user's own VCL or nginx.conf in a throw-away varnishd or
// nginx on 127.0.0.1, every backend pointed at a synthetic origin, and a
// matrix of requests replayed through it. Each cell of the matrix says
// whether a second user or an anonymous visitor received the first
// user's page, and whether the fence's rewrite stopped it.
package replay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	nginxconf "github.com/cachefence/cachefence/audit/nginx"
)

// Options are a run's choices; the zero value detects or defaults each.
type Options struct {
	// SessionCookie names the cookie that carries a session; empty, the
	// configuration's own (see detectSessionCookie), else "session".
	SessionCookie string
	// CredentialHeader names the header that carries a credential;
	// empty, Authorization.
	CredentialHeader string
}

// Hold is how long the origin holds each answer of a concurrent cell:
// long enough for the other requests to reach the cache while the first
// one is at the origin.
const Hold = 300 * time.Millisecond

// The matrix's other dimensions.
var (
	// credentials say how a request proves who sends it.
	credentials = []string{CredentialHeader, CredentialCookie}
	// timings say how the three requests of a cell arrive.
	timings = []string{Sequential, Concurrent}
	// paths say what the URL looks like.
	paths = []string{Dynamic, Static}
)

// The values of the matrix's dimensions.
const (
	CredentialHeader = "header" // Authorization, or Options.CredentialHeader
	CredentialCookie = "cookie" // the session cookie
	Sequential       = "sequential"
	Concurrent       = "concurrent" // the origin holds its answers: collapsing
	Dynamic          = "dynamic"    // /account/cfrN
	Static           = "static"     // /account/cfrN/app.css, cached by extension
)

// Who received the first user's page.
const (
	SecondUser = "second_user"
	Anonymous  = "anonymous"
)

// parallel bounds the cells replayed at once: each holds a few
// connections of the server, whose limits are the user's.
const parallel = 16

// cacheServer is varnishd or nginx, made to run one configuration.
type cacheServer interface {
	name() string
	// program returns the binary and the Debian package it comes in.
	program() (string, string)
	// start runs the configuration with its backends at originAddr, in
	// dir, and returns the server with what it changed or left out.
	start(ctx context.Context, bin, dir, originAddr string) (*server, []string, error)
}

// Run runs the configuration in file and replays the matrix through it.
// An error means that it could not run: the server is missing, refused
// the configuration, or did not answer.
func Run(ctx context.Context, file string, o Options) (*Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var cache cacheServer
	host := "localhost"
	switch {
	case strings.HasSuffix(file, ".vcl") || bytes.Contains(data, []byte("vcl 4.")):
		cache = varnishServer{file}
	case nginxconf.Detect(file, data):
		cache = nginxServer{file}
		if ds, err := nginxconf.Parse(file, data); err == nil {
			if h := hostOf(ds); h != "" {
				host = h
			}
		}
	default:
		return nil, fmt.Errorf("%s: neither VCL nor an nginx configuration", file)
	}
	program, pkg := cache.program()
	bin, err := lookPath(program, pkg)
	if err != nil {
		return nil, err
	}
	r := &Report{File: file, Server: cache.name(), CredentialHeader: o.CredentialHeader, SessionCookie: o.SessionCookie, CookieFrom: "flag"}
	if r.CredentialHeader == "" {
		r.CredentialHeader = "Authorization"
	}
	if r.SessionCookie == "" {
		r.SessionCookie, r.CookieFrom = detectSessionCookie(file, data), "configuration"
		if r.SessionCookie == "" {
			r.SessionCookie, r.CookieFrom = "session", "default"
		}
	}
	users := []user{newUser("user-a"), newUser("user-b")}
	cells, originCells := matrix()
	org, err := startOrigin(users, r.SessionCookie, originCells, Hold)
	if err != nil {
		return nil, err
	}
	defer org.close()
	dir, err := os.MkdirTemp("", "cachefence-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	srv, notes, err := cache.start(ctx, bin, dir, org.addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	defer srv.stop()
	r.Notes = notes

	rp := &replayer{base: "http://" + srv.addr, host: host, users: users, report: r, origin: originCells,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 3 * parallel}}}
	if err := rp.all(ctx, cells); err != nil {
		return nil, err
	}
	r.Cells = cells
	r.findings()
	return r, nil
}

// newUser makes an identity with a fresh marker and credential.
func newUser(name string) user {
	return user{marker: name + "-" + randomHex(4), token: randomHex(16)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// matrix returns every cell, and what the origin must know of each, as
// and with the fence's rewrite, by ID.
func matrix() ([]*Cell, map[string]*originCell) {
	var cells []*Cell
	byID := map[string]*originCell{}
	n := 0
	id := func(v variant, fenced, hold bool) string {
		n++
		s := "cfr" + strconv.Itoa(n)
		byID[s] = &originCell{variant: v, fenced: fenced, hold: hold, arrived: make(chan struct{})}
		return s
	}
	for _, v := range variants {
		for _, cred := range credentials {
			for _, timing := range timings {
				for _, path := range paths {
					hold := timing == Concurrent
					c := &Cell{Origin: v.name, Credential: cred, Timing: timing, Path: path}
					c.id, c.fencedID = id(v, false, hold), id(v, true, hold)
					c.URL, c.FencedURL = pathOf(path, c.id), pathOf(path, c.fencedID)
					cells = append(cells, c)
				}
			}
		}
	}
	return cells, byID
}

func pathOf(kind, id string) string {
	if kind == Static {
		return "/account/" + id + "/app.css"
	}
	return "/account/" + id
}

// replayer sends the matrix's requests.
type replayer struct {
	base, host string
	users      []user
	report     *Report
	origin     map[string]*originCell
	client     *http.Client
}

// all replays the cells, some at once: each has its own URLs, so that
// none sees another's stored pages.
func (rp *replayer) all(ctx context.Context, cells []*Cell) error {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	errs := make([]error, len(cells))
	for i, c := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			if c.Reached, c.LeakedTo, err = rp.cell(ctx, c, c.id, c.URL); err == nil {
				c.FencedReached, c.FencedLeakedTo, err = rp.cell(ctx, c, c.fencedID, c.FencedURL)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// answer is what one request received.
type answer struct {
	header http.Header
	body   []byte
}

// names says whether the answer carries the marker, in its body or any
// header (a replayed Set-Cookie).
func (a answer) names(marker string) bool {
	if bytes.Contains(a.body, []byte(marker)) {
		return true
	}
	for _, vs := range a.header {
		for _, v := range vs {
			if strings.Contains(v, marker) {
				return true
			}
		}
	}
	return false
}

// cell sends the first user's, the second user's and the anonymous
// visitor's requests for one cell's URL, and says whether the first got
// its own page and who else got it.
func (rp *replayer) cell(ctx context.Context, c *Cell, id, url string) (reached bool, leaked []string, err error) {
	var first, second, anon answer
	var errFirst, errSecond, errAnon error
	send := func(u int, a *answer, e *error) {
		*a, *e = rp.get(ctx, c.Credential, u, id, url)
	}
	if c.Timing == Sequential {
		send(0, &first, &errFirst)
		send(1, &second, &errSecond)
		send(-1, &anon, &errAnon)
	} else {
		var wg sync.WaitGroup
		wg.Go(func() { send(0, &first, &errFirst) })
		// The others leave once the first request is at the origin, which
		// holds it; a first request that never gets there (answered by
		// the server itself) leaves them after the hold.
		select {
		case <-rp.origin[id].arrived:
		case <-time.After(Hold):
		case <-ctx.Done():
		}
		wg.Go(func() { send(1, &second, &errSecond) })
		wg.Go(func() { send(-1, &anon, &errAnon) })
		wg.Wait()
	}
	if err := errors.Join(errFirst, errSecond, errAnon); err != nil {
		return false, nil, fmt.Errorf("replaying %s: %w", url, err)
	}
	marker := rp.users[0].marker
	if second.names(marker) {
		leaked = append(leaked, SecondUser)
	}
	if anon.names(marker) {
		leaked = append(leaked, Anonymous)
	}
	return first.names(marker), leaked, nil
}

// get sends one GET as user u (-1: anonymous) with the cell's kind of
// credential.
func (rp *replayer) get(ctx context.Context, credential string, u int, id, url string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rp.base+url, nil)
	if err != nil {
		return answer{}, err
	}
	req.Host = rp.host
	req.Header.Set(cellHeader, id)
	if u >= 0 {
		token := rp.users[u].token
		switch credential {
		case CredentialCookie:
			req.Header.Set("Cookie", rp.report.SessionCookie+"="+token)
		case CredentialHeader:
			req.Header.Set(rp.report.CredentialHeader, credentialValue(rp.report.CredentialHeader, token))
		}
	}
	resp, err := rp.client.Do(req)
	if err != nil {
		// The error names the URL, never the credential.
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return answer{resp.Header, body}, err
}

// credentialValue is what a credential header carries: a bearer token in
// Authorization, the bare token in any other.
func credentialValue(header, token string) string {
	if strings.EqualFold(header, "Authorization") {
		return "Bearer " + token
	}
	return token
}
