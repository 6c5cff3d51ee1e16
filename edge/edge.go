// Package edge writes the guard that makes a CDN refuse to deliver a page
// stamped for someone else: code for each CDN's runtime that computes the
// requester's identity exactly as the fence does, stamps it with the same
// key, and compares it with the owner stamp on the response.
package edge

import (
	_ "embed"

	"github.com/cachefence/cachefence/fence"
)

// identityJS is the identity in JavaScript, for the Worker and CloudFront
// Function targets.
//
//go:embed js/identity.js
var identityJS string

// jsConfig is the part of the fence's configuration that the JavaScript
// identity reads, with the fence's defaults written out.
type jsConfig struct {
	SessionCookies    []string `json:"session_cookies"`
	IgnoreCookies     []string `json:"ignore_cookies"`
	CredentialHeaders []string `json:"credential_headers"`
	CredentialParams  []string `json:"credential_params"`
}

func newJSConfig(c fence.Config) jsConfig {
	j := jsConfig{SessionCookies: c.SessionCookies, IgnoreCookies: c.IgnoreCookies,
		CredentialHeaders: c.CredentialHeaders, CredentialParams: c.CredentialParams}
	if j.CredentialHeaders == nil {
		j.CredentialHeaders = fence.DefaultCredentialHeaders()
	}
	if j.CredentialParams == nil {
		j.CredentialParams = fence.DefaultCredentialParams()
	}
	return j
}
