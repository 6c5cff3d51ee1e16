package edge

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// VCL has no loops: a VCL guard cannot go through every cookie, header or
// parameter of a request as the fence does. It reads each identifying
// field by its literal name instead, which computes the fence's identity
// exactly for the requests of a subset (vclRules), and for any other
// request an identity made only of fields the request carries, which
// differs from the fence's (it lacks what the fence also read): a page the
// fence stamped for that request is then passed or refused, never
// delivered by mistake.
//
// VCL strings cannot hold the identity's NUL bytes either, so the guard
// writes the identity in hex and hashes it through Fastly's binary-safe
// functions (see fastly.go).

// vclRules are the fence's identity rules as a VCL guard reads them: each
// field by name, in the order the fence sorts them.
//
// The identity is exact for a request in which each session cookie is
// sent at most once, under its configured name, as name=value; each
// credential header at most once, under its name with dashes; each
// credential parameter at most once in the query (not as a path
// parameter), under its configured name in lower case; and Authorization
// at most once.
type vclRules struct {
	// Cookies, Headers and Params are sorted as the fence sorts the
	// fields they read: a session cookie's pair starts with its name and
	// "=", a header's with its name and ":", a parameter's with its name
	// and "=" (or is the name), and no name holds those characters.
	Cookies []vclField
	Headers []vclField
	Params  []vclField
}

// vclField is a field the guard reads by name.
type vclField struct {
	Name string
	// Pattern is a PCRE that captures the field as the fence writes it,
	// for cookies and parameters.
	Pattern string
	// Hex is what the guard writes before the field's value: its kind,
	// NUL, and for a header its name and ": ", in upper-case hex.
	Hex string
}

// vclName is a cookie name a VCL guard can match exactly: a token
// without the characters frameworks rewrite in names (PHP's "." and "[",
// spaces, "%"), nor a glob's.
var vclName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// vclHeader is a header name VCL can write as req.http.NAME.
var vclHeader = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// vclParam is a parameter name a VCL guard can match as sent, once
// lowered and with "." as "_", as the fence reads it.
var vclParam = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// errEveryCookie explains why a configuration without session_cookies
// cannot be guarded in VCL.
var errEveryCookie = errors.New("VCL has no loops, so the guard cannot go through every cookie as the fence does " +
	"when session_cookies is not set (every cookie identifies but the ignored ones): " +
	"list the cookies that identify a user by name in the fence's configuration (session_cookies NAME ...)")

// newVCLRules returns the rules for c (the fence's defaults written out),
// or an error saying why c is outside what a VCL guard computes and what
// to configure instead.
func newVCLRules(c jsConfig) (vclRules, error) {
	if len(c.SessionCookies) == 0 {
		return vclRules{}, errEveryCookie
	}
	var r vclRules
	for _, name := range c.SessionCookies {
		if !vclName.MatchString(name) {
			return vclRules{}, fmt.Errorf("session_cookies: %q: the VCL guard matches cookie names exactly, with no loop to try a pattern: "+
				"list each cookie by its full name (letters, digits, _ and -)", name)
		}
		r.Cookies = appendField(r.Cookies, name, "cookie", `(?:^|[;,])[ \t]*(`+regexp.QuoteMeta(name)+`=[^;,]*?)[ \t]*(?:[;,]|$)`)
	}
	for _, name := range c.CredentialHeaders {
		canonical := http.CanonicalHeaderKey(strings.NewReplacer("_", "-", ".", "-").Replace(name))
		if !vclHeader.MatchString(canonical) {
			return vclRules{}, fmt.Errorf("credential_headers: %q: VCL names a header as req.http.NAME: use letters, digits, -, _ and .", name)
		}
		if canonical != "Authorization" {
			r.Headers = appendField(r.Headers, canonical, "header", "")
		}
	}
	for _, name := range c.CredentialParams {
		if !vclParam.MatchString(name) {
			return vclRules{}, fmt.Errorf("credential_params: %q: the VCL guard matches parameter names as sent: use letters, digits, ., _ and -", name)
		}
		name = strings.ReplaceAll(strings.ToLower(name), ".", "_")
		r.Params = appendField(r.Params, name, "param", `(?:^|[&;])(`+regexp.QuoteMeta(name)+`(?:=[^&;]*)?)(?:[&;]|$)`)
	}
	return r, nil
}

// appendField adds the field name of kind to fields once, keeping them in
// the fence's order.
func appendField(fields []vclField, name, kind, pattern string) []vclField {
	prefix := kind + "\x00"
	sep := "="
	if kind == "header" {
		prefix += name + ": "
		sep = ":"
	}
	f := vclField{Name: name, Pattern: pattern, Hex: strings.ToUpper(hex.EncodeToString([]byte(prefix)))}
	i, found := slices.BinarySearchFunc(fields, name, func(f vclField, name string) int {
		return strings.Compare(f.Name+sep, name+sep)
	})
	if found {
		return fields
	}
	return slices.Insert(fields, i, f)
}
