// Package integration is cachefence's end-to-end test suite. It runs real
// processes only: the cachefence binary (built once per run from
// ./cmd/cachefence), varnishd 7.1, nginx 1.22 and a small personalised
// origin written in Go, all on free ports of 127.0.0.1. Every page the
// origin renders names, in its body, whom it was rendered for
// ("owner=alice"); a page that reaches anyone else is a leak, and so is a
// session cookie that reaches anyone but the visitor it was minted for.
//
// # Scenarios
//
// TestScenarios replays the ways shared caches have served one user's page
// to another. Each scenario runs three times: without_fence (the cache
// talks to the origin directly), with_fence (cache → cachefence run with
// testdata/fence.Caddyfile → origin) and with_sidecar (cache → `cachefence
// sidecar --from … --to …` → origin). Without the fence the test must see
// at least one leak, which proves the harness can see one; with either
// fence it must see none.
//
//   - 2017_cdn: Varnish whose only stop is "Cache-Control: private" stores
//     for an hour the personal page that the origin sent with no-cache and
//     an Expires in the past (testdata/varnish_2017.vcl).
//   - varnish_surrogate_only: a VCL that reads Surrogate-Control and
//     nothing else (testdata/varnish_surrogate_only.vcl) stores for an hour
//     a personal page that carries none; the fence's
//     "Surrogate-Control: no-store" is what keeps it out.
//   - varnish_builtin_surrogate: a cookie-stripping site VCL falls through
//     to the builtin VCL, which skips the Cache-Control check when
//     Surrogate-Control is present, so "private" plus
//     "Surrogate-Control: max-age=3600" is stored (testdata/varnish_site.vcl).
//   - nginx_x_accel_expires: nginx obeys X-Accel-Expires over
//     "Cache-Control: private" (testdata/nginx_default.conf). nginx 1.22
//     does so only when X-Accel-Expires comes first in the response, so the
//     origin writes that page's header lines in that order.
//   - login_set_cookie: nginx with "proxy_ignore_headers Set-Cookie" stores
//     a login answer marked public and replays its Set-Cookie, handing the
//     first visitor's session to the next ones (testdata/nginx_login.conf).
//   - collapsing: eight users ask at once for a slow personal page; Varnish,
//     micro-caching for one second, collapses them onto one origin fetch and
//     hands that user's page to everyone waiting
//     (testdata/varnish_microcache.vcl). Both caches count the waiting
//     requests as hits.
//   - collapsing_nginx: the same with nginx's proxy_cache_lock
//     (testdata/nginx_microcache.conf).
//
// TestHardening replays, for each class of input that once let a personal
// page out as cacheable (issue 9), two visitors through real Varnish and
// nginx (testdata/varnish_hardening.vcl, nginx_hardening.conf), without
// and with the fence: a public path in another case or with doubled
// slashes, an API key header, an access_token in the query, a
// ;jsessionid= path parameter, a session cookie as Python's SimpleCookie
// and PHP read it (real php -S and python3 origins), a stylesheet URL
// answered with a personal text page, a JSONP script, and a
// Vercel-CDN-Cache-Control that outranks "private", a session id handed out
// as X-Auth-Token on the response, and an avatar rendered per user on a
// public path. Without the fence the second visitor must get the first
// one's page; with it, their own. Pages the old rules fenced for nothing
// (a bare stale-while-revalidate, Vary: Cookie without a cookie, a source
// map served as JSON, a script on a public path, a tarball sent with the
// type inside, an untyped file from Caddy's file_server, two agreeing
// Cache-Control lines, RFC 9213's no-store split) must be stored and
// served.
//
// TestConfigClasses replays, through the same caches, configurations that
// once let a personal page out: a credential_headers name written with
// "_" (X_Api_Key) while clients send "-", a header really called api_key,
// and the path a matcher on the directive (@app not path /c/static/*)
// handed to Caddy's case-folding path matcher, now refused at adapt time.
//
// TestMixedLoad sends a few thousand requests from 16 concurrent clients
// (60 users, 20 anonymous visitors, 29 URLs: personal pages, public pages,
// static assets) through Varnish and through nginx, both with the fence,
// and checks that no response reaches the wrong user while the caches
// still serve public pages and assets (with or without a session cookie)
// from storage, as the caches themselves report it.
//
// TestProbe runs `cachefence probe` with two test accounts through the
// same caches and asserts its exact findings: the 2017 CDN leaks without
// the fence (exit 1) and is clean with it; a VCL that forces a TTL on
// everything leaks even behind the fence, found by the accounts' markers
// and, on pages without any, by the owner stamp alone; the micro-cache
// leaks to the collapse test; a wrong stamp key makes the run untrusted
// (exit 2), not a list of false leaks.
//
// TestProbeSites runs the probe against real sites' cache configurations
// (Magento 2's VCL, a VCL that hashes the Cookie header, WordPress nginx
// caches that ignore or obey the origin, an nginx microcache; each
// testdata/probe_* file names its source), each first checked with plain
// HTTP clients, leaking and fixed, without and with the fence, and
// asserts exactly the findings that ground truth supports.
//
// TestProbeWatch runs `probe --every` against a Varnish micro-cache whose
// leak comes and goes as the fence is put in, taken out and put back: the
// local webhook must get one message firing the causes and one resolving
// them, not a stream; the metrics endpoint counts it all.
//
// TestLogs runs real Varnish (with varnishncsa) and nginx (with its access
// log), logging in the eleven-field formats of docs/logs.md, which the
// test reads from docs/logs.md itself (the nginx block is included as
// written, the varnishncsa command run as written; only the log's path
// changes). In front of the fence with owner_stamp, configured to ignore
// "private" as a misconfigured CDN does, mixed users, one after another
// and all at once, produce real log lines, and `cachefence logs` must
// report exactly the findings what each visitor received calls for: a
// stamp_mismatch where one user's page reached another, a cached_personal
// for each personal response served from storage, its reasons quoting the
// logged Cache-Control ("private, no-store", the fence's), none on the
// public pages, and none at all with a cache that honours "private". With
// no fence (cache_control_only), an origin whose personal pages say so
// only by "Cache-Control: private" or "no-store", on paths that are not
// private and without a cookie, behind the same misconfigured caches:
// each page a later visitor got from storage must be a cached_personal
// whose only reason quotes that Cache-Control, and the public page
// ("public, max-age=60") served from storage must not be flagged.
//
// TestXcaddyBuild builds the module into stock Caddy with xcaddy and checks
// that the handler is there and fences.
//
// # Running
//
// The suite needs varnishd, varnishstat, nginx, php and python3; it fails
// (never skips) without them. Everything:
//
//	go test ./integration/ -v
//
// One scenario, or one variant of it:
//
//	go test ./integration/ -v -run 'TestScenarios/2017_cdn'
//	go test ./integration/ -v -run 'TestScenarios/collapsing$/without_fence'
//	go test ./integration/ -v -run 'TestMixedLoad/nginx'
//	go test ./integration/ -v -run 'TestProbe/forced_ttl'
//	go test ./integration/ -v -run 'TestHardening/varnish/with_fence/cookies'
//
// Each test logs what every visitor got; with -v, a summary of leaks and
// hit ratios is printed at the end of the run.
package integration
