// Command cachefence is Caddy with the standard modules, the cache_fence
// HTTP handler, and cachefence's own subcommands (sidecar, dev).
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cachefence/cachefence/caddymodule"
	_ "github.com/cachefence/cachefence/cli"
)

func main() {
	caddycmd.Main()
}
