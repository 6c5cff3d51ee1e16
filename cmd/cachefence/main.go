// Command cachefence is Caddy with the standard modules, the cache_fence
// HTTP handler, and cachefence's own subcommands (sidecar, dev,
// probe).
package main

import (
	"runtime/debug"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cachefence/cachefence/caddymodule"
	_ "github.com/cachefence/cachefence/cli"
)

func main() {
	// Usage and help then say "cachefence probe", not "caddy probe".
	caddy.CustomBinaryName = "cachefence"
	// Caddy appends its own version to this one, so that version and
	// --version say "cachefence v0.3.0 · Caddy v2.11.9 h1:...".
	caddy.CustomVersion = "cachefence " + version() + " · Caddy"
	caddycmd.Main()
}

// version returns cachefence's version, as the Go toolchain recorded it in
// the binary. See versionOf.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return versionOf(bi)
}

// versionOf returns the version of bi's main module, cachefence: v0.3.0
// for go install ...@v0.3.0, a pseudo-version for a build in a git
// checkout (v0.0.0-20261123104110-bc77522a1b2c, +dirty with local
// changes), "(devel)" when nothing was recorded (go run, -buildvcs=false).
// When the toolchain recorded a commit but could not derive a version from
// it, it is "(devel)" and the commit.
func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel) " + rev + dirty
}
