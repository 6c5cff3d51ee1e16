package edge

import (
	_ "embed"
	"text/template"

	"github.com/cachefence/cachefence/fence"
)

// identityJS is the identity in JavaScript, for the Worker target.
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

func init() {
	register(Target{Name: "cloudflare-worker",
		Runtime:         "a Cloudflare Worker (module syntax) on the zone's routes; the key is a Worker secret",
		RequesterDigest: true,
		write:           executeTemplate(workerTemplate)})
}

var workerTemplate = template.Must(template.New("worker").Funcs(template.FuncMap{"identityJS": func() string { return identityJS }}).Parse(`// cachefence edge guard for Cloudflare Workers, written by {{.Config.Version}}
// from {{.Config.Source}} (configuration {{.Digest}}). Regenerate it when the
// fence's cookie, header or parameter lists change: the identity must be the fence's.
//
// After the cache, it computes the requester's identity as the fence does, stamps it with
// the fence's key, and compares that with the page's owner stamp ({{.StampHeader}}). A page
// stamped for someone else is never delivered: {{if eq .Config.OnMismatch "pass"}}it is fetched again past the cache
// (GET and HEAD; other methods are refused) and delivered if it is now the requester's,
// with {{.GuardHeader}}: passed{{else}}the requester gets a short 503 that no cache stores{{end}}; otherwise a 503 with
// {{.GuardHeader}}: refused. Unstamped responses pass untouched{{if not .Config.RequesterDigest}}, with no HMAC{{end}}.
//
// Deploy on the zone's routes with compatibility_date 2024-11-11 or later, then:
//   wrangler secret put {{.Config.KeyName}}
// The key is never written here. To rotate it, put the new key in {{.Config.KeyName}}, the old
// one in {{.Config.KeyName}}_PREVIOUS, and an RFC 3339 time in {{.Config.KeyName}}_PREVIOUS_UNTIL: pages
// stamped with either are accepted until then (as long as the CDN may keep a page).{{if .Config.RequesterDigest}}
//
// Every response also carries {{.RequesterHeader}}, the requester's digest (the stamp the fence
// gives them), and {{.SetCookieHeader}}: 1 when it set a cookie, for Logpush's response_fields
// (docs/logs.md): one HMAC per request.{{end}}

const KEY = "{{.Config.KeyName}}";
const STAMP = "{{.StampHeader}}";
const GUARD = "{{.GuardHeader}}";
const PASS = {{if eq .Config.OnMismatch "pass"}}true{{else}}false{{end}};
const REQUESTER = {{if .Config.RequesterDigest}}"{{.RequesterHeader}}"{{else}}null{{end}};

{{identityJS}}
const RULES = identityRules({{.RulesJSON}});

async function stampWith(key, id) {
  const k = await crypto.subtle.importKey("raw", latin1(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return stampText(new Uint8Array(await crypto.subtle.sign("HMAC", k, latin1(id))));
}

// owns says whether stamp is the requester's, mine (their stamp under the
// key, null without one: fail closed) or, until it expires, theirs under
// the previous key.
async function owns(env, id, stamp, mine) {
  if (mine !== null && sameStamp(mine, stamp)) return true;
  const previous = env[KEY + "_PREVIOUS"], until = Date.parse(env[KEY + "_PREVIOUS_UNTIL"] || "");
  return !!previous && Date.now() < until && sameStamp(await stampWith(previous, id), stamp);
}

// deliver sets the guard's verdict, if any, and the requester's digest
// when asked to, on a response whose headers fetch made immutable.
function deliver(response, verdict, mine) {
  if (verdict === null && REQUESTER === null) return response;
  const r = new Response(response.body, response);
  if (verdict !== null) r.headers.set(GUARD, verdict);
  if (REQUESTER !== null && mine !== null) {
    r.headers.set(REQUESTER, mine);
    if (response.headers.has("set-cookie")) r.headers.set("{{.SetCookieHeader}}", "1");
  }
  return r;
}

export default {
  async fetch(request, env) {
    const response = await fetch(request);
    const stamp = response.headers.get(STAMP);
    if (stamp === null && REQUESTER === null) return response;
    const url = new URL(request.url);
    const fields = [];
    for (const [name, value] of request.headers) fields.push([name, value]);
    const id = identity(RULES, fields, url.pathname + url.search);
    const mine = env[KEY] ? await stampWith(env[KEY], id) : null;
    if (stamp === null || (await owns(env, id, stamp, mine))) return deliver(response, null, mine);
    // Neither the identity nor the stamps are logged, nor what of the
    // path may hold a session id.
    console.log(JSON.stringify({ cachefence_guard: "mismatch", path: loggedPath(url.pathname) }));
    if (PASS && (request.method === "GET" || request.method === "HEAD")) {
      const again = await fetch(request, { cache: "no-store" });
      const second = again.headers.get(STAMP);
      if (second === null || (await owns(env, id, second, mine))) return deliver(again, "passed", mine);
    }
    const refusal = new Response("This page was not made for you. Please retry.\n", {
      status: 503,
      headers: { "cache-control": "private, no-store", "retry-after": "1" },
    });
    return deliver(refusal, "refused", mine);
  },
};
`))
