// Package edge writes the guard that makes a CDN refuse to deliver a page
// stamped for someone else: code for a CDN's runtime that, after the
// cache, computes the requester's identity exactly as the fence does,
// stamps it with the same key, and compares it with the owner stamp on the
// response. A stamped page can then reach only its owner, whatever the
// cache's configuration.
package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
	"unicode"

	"github.com/cachefence/cachefence/fence"
)

// Config is what a guard needs of the fence's configuration, and how it
// acts.
type Config struct {
	// Rules are the fence's identity rules: session and ignored cookies,
	// credential headers and parameters. Nil lists are the fence's
	// defaults.
	Rules fence.Config
	// StampHeader is the response header of the owner stamp.
	StampHeader string
	// KeyName names where the runtime holds the key (a Worker secret, an
	// environment variable, a dictionary item); the key itself is never
	// written.
	KeyName string
	// OnMismatch is what the guard does with a page stamped for another
	// requester: OnMismatchPass fetches it again past the cache,
	// OnMismatchRefuse answers a short uncacheable error; "" is pass where
	// the target can fetch again, refuse elsewhere.
	OnMismatch string
	// RequesterDigest makes the guard hand the access log the requester
	// digest (fence.RequesterHeader) and whether the response set a
	// cookie (fence.SetCookieHeader) on every
	// response, for cachefence logs: one HMAC per request, not only per
	// stamped response.
	RequesterDigest bool
	// Source says where the configuration came from (file and site), and
	// Version which cachefence wrote the guard, for its header comment.
	Source, Version string
}

// What a guard does on a mismatch.
const (
	OnMismatchPass   = "pass"
	OnMismatchRefuse = "refuse"
)

// GuardHeader is the response header a guard sets when it stopped a page
// stamped for someone else: fence.GuardRefused when it answered an error,
// fence.GuardPassed when it fetched the page again past the cache.
const GuardHeader = fence.GuardHeader

// Target is a CDN runtime a guard can be written for.
type Target struct {
	Name string
	// Runtime says what runs the guard and where it goes.
	Runtime string
	// RequesterDigest says the target can write Config.RequesterDigest.
	RequesterDigest bool
	// NoPass says why the runtime cannot fetch a page again past the
	// cache; "" when it can.
	NoPass string
	// write writes the guard.
	write func(w io.Writer, g guard) error
}

// Targets are the runtimes by name, each registered by its own file.
var Targets []Target

func register(t Target) {
	Targets = append(Targets, t)
	slices.SortFunc(Targets, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
}

// guard is what every target's code is written from: the configuration,
// validated, with the fence's defaults written out.
type guard struct {
	Config Config
	// Digest identifies the configuration the guard was written from.
	Digest string
	Rules  jsConfig
	// RulesJSON is Rules as JSON.
	RulesJSON string
	// StampHeader, GuardHeader, RequesterHeader and SetCookieHeader are
	// header names in lower case.
	StampHeader, GuardHeader, RequesterHeader, SetCookieHeader string
}

// executeTemplate returns a target's write func for a template executed
// on the guard.
func executeTemplate(t *template.Template) func(io.Writer, guard) error {
	return func(w io.Writer, g guard) error { return t.Execute(w, g) }
}

// impossible says why there is no target for a runtime users will ask
// for.
var impossible = map[string]string{
	"varnish": "Varnish cannot compute the owner stamp: a VCL string ends at the first NUL byte, the identity " +
		"holds NUL bytes, and vmod_digest's HMAC takes a string (edge/varnish_test.go shows it on real Varnish); " +
		"put a guard that can in front of Varnish (nginx-lua, or a CDN's target)",
}

// TargetNames returns the targets' names.
func TargetNames() []string {
	var names []string
	for _, t := range Targets {
		names = append(names, t.Name)
	}
	return names
}

// Generate writes the guard for the target named target.
func Generate(target string, c Config) ([]byte, error) {
	i := slices.IndexFunc(Targets, func(t Target) bool { return t.Name == target })
	if why, ok := impossible[target]; ok {
		return nil, fmt.Errorf("no %s target: %s", target, why)
	}
	if i < 0 {
		return nil, fmt.Errorf("unknown target %q: want one of %s", target, strings.Join(TargetNames(), ", "))
	}
	if _, err := fence.New(c.Rules); err != nil {
		return nil, err
	}
	switch {
	case c.OnMismatch == "" && Targets[i].NoPass == "":
		c.OnMismatch = OnMismatchPass
	case c.OnMismatch == "":
		c.OnMismatch = OnMismatchRefuse
	case c.OnMismatch == OnMismatchPass && Targets[i].NoPass != "":
		return nil, fmt.Errorf("on mismatch pass is not possible with %s: %s; use refuse (a 503 that no cache stores)", target, Targets[i].NoPass)
	}
	switch {
	case c.RequesterDigest && !Targets[i].RequesterDigest:
		return nil, fmt.Errorf("target %s does not write the requester digest", target)
	case c.OnMismatch != OnMismatchPass && c.OnMismatch != OnMismatchRefuse:
		return nil, fmt.Errorf("on mismatch %q: want %s or %s", c.OnMismatch, OnMismatchPass, OnMismatchRefuse)
	case c.KeyName == "" || strings.ContainsFunc(c.KeyName, func(r rune) bool {
		return !(r == '_' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}):
		return nil, errors.New("the key's name must be letters, digits and _ (an environment variable or secret's name)")
	}
	rules := newJSConfig(c.Rules)
	rulesJSON, err := json.Marshal(rules)
	if err != nil {
		return nil, err
	}
	stampHeader := strings.ToLower(c.StampHeader)
	if stampHeader == "" {
		stampHeader = strings.ToLower(fence.DefaultStampHeader)
	}
	// Both are written into a comment.
	c.Source, c.Version = oneLine(c.Source), oneLine(c.Version)
	sum := sha256.Sum256(fmt.Appendf(rulesJSON, "\x00%s\x00%s\x00%s\x00%v", stampHeader, c.OnMismatch, c.KeyName, c.RequesterDigest))
	var out bytes.Buffer
	err = Targets[i].write(&out, guard{
		Config: c, Digest: "sha256:" + hex.EncodeToString(sum[:8]),
		Rules: rules, RulesJSON: string(rulesJSON), StampHeader: stampHeader,
		GuardHeader: strings.ToLower(GuardHeader), RequesterHeader: strings.ToLower(fence.RequesterHeader),
		SetCookieHeader: strings.ToLower(fence.SetCookieHeader),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	return out.Bytes(), nil
}

// oneLine keeps a value written into a comment on that comment's line:
// control characters, and the separators JavaScript also ends a line at,
// become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
