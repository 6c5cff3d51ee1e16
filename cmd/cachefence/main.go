// Command cachefence is Caddy with the standard modules, the cache_fence
// HTTP handler, and cachefence's own subcommands (sidecar, dev,
// probe).
package main

import (
	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cachefence/cachefence/caddymodule"
	_ "github.com/cachefence/cachefence/cli"
)

func main() {
	// Usage and help then say "cachefence probe", not "caddy probe".
	caddy.CustomBinaryName = "cachefence"
	caddycmd.Main()
}
