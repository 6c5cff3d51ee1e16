// Package stampvectors reads the owner-stamp test vectors
// (fence/testdata/stamp_vectors.json), which every implementation of the
// requester's identity is held to: the fence's, and the edge code that
// cachefence edge generates for each CDN. One file, so that they cannot
// drift apart.
package stampvectors

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"

	"github.com/cachefence/cachefence/fence"
)

// File is the vectors file.
type File struct {
	// Key is the owner-stamp key of every vector.
	Key string `json:"key"`
	// Configs are the fence configurations the vectors name, in the
	// Caddyfile's words.
	Configs map[string]Config `json:"configs"`
	Vectors []Vector          `json:"vectors"`
}

// Config is the part of cache_fence's configuration that the identity
// depends on.
type Config struct {
	SessionCookies    []string `json:"session_cookies,omitempty"`
	IgnoreCookies     []string `json:"ignore_cookies,omitempty"`
	CredentialHeaders []string `json:"credential_headers,omitempty"`
	CredentialParams  []string `json:"credential_params,omitempty"`
}

// Fence returns c as the fence's Config; lists left out keep the
// fence's defaults.
func (c Config) Fence() fence.Config {
	return fence.Config{SessionCookies: c.SessionCookies, IgnoreCookies: c.IgnoreCookies,
		CredentialHeaders: c.CredentialHeaders, CredentialParams: c.CredentialParams}
}

// Vector is one request and the identity and stamp it must have.
type Vector struct {
	Name   string `json:"name"`
	Config string `json:"config"`
	// URL is the request target as sent: path and query.
	URL string `json:"url"`
	// Headers are the request's header fields in order, names as sent.
	Headers  [][2]string `json:"headers"`
	Identity string      `json:"identity"`
	Stamp    string      `json:"stamp"`
	Note     string      `json:"note,omitempty"`
}

// Header returns the vector's headers as a server receives them.
func (v Vector) Header() http.Header {
	h := http.Header{}
	for _, f := range v.Headers {
		h.Add(f[0], f[1])
	}
	return h
}

// Path is the vectors file's path.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fence", "testdata", "stamp_vectors.json")
}

// Load reads the vectors file and checks that every vector names a
// config it has.
func Load() (*File, error) {
	b, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", Path(), err)
	}
	for _, v := range f.Vectors {
		if _, ok := f.Configs[v.Config]; !ok {
			return nil, fmt.Errorf("%s: vector %q names config %q, which the file lacks", Path(), v.Name, v.Config)
		}
	}
	if len(f.Vectors) == 0 {
		return nil, fmt.Errorf("%s: no vectors", Path())
	}
	return &f, nil
}
