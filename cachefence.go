// Package cachefence is the module root. Importing it registers the
// http.handlers.cache_fence Caddy module, so that a stock Caddy build takes
// the plugin by its module path:
//
//	xcaddy build --with github.com/cachefence/cachefence
//
// The code lives in caddymodule (the Caddy glue), fence (the rules),
// fencewriter (the response-writer wrapper), probe and cli.
package cachefence

import (
	// Registers the cache_fence handler and its Caddyfile directive.
	_ "github.com/cachefence/cachefence/caddymodule"
)
