package logs

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"

	"github.com/cachefence/cachefence/internal/escape"
)

// The JSON formats: one object per line.

// errNoURI is the error of a JSON record that lacks its request path.
var errNoURI = errors.New("no request path")

// logpushParser reads Cloudflare Logpush's http_requests dataset, with the
// custom fields RequestHeaders, ResponseHeaders and Cookies
// (logs/reference/log-fields/zone/http_requests.md and
// logs/reference/custom-fields.mdx in cloudflare/cloudflare-docs).
type logpushParser struct {
	// stamp is the owner-stamp header's name in lower case, as Logpush
	// writes header names.
	stamp string
	words words
}

func newLogpushParser(stampHeader string) *logpushParser {
	return &logpushParser{stamp: strings.ToLower(cmp.Or(stampHeader, fence.DefaultStampHeader)),
		words: words{field: "CacheCacheStatus"}}
}

func (p *logpushParser) parse(line string, r *Record) error {
	var uri, path, cookies, answered string
	var test bool
	var bad error
	err := eachMember(line, func(key, v string) {
		switch key {
		case "EdgeStartTimestamp":
			r.Time, _ = parseTime(jsonString(v))
		case "ClientRequestHost":
			r.Host = jsonString(v)
		case "ClientRequestMethod":
			r.Method = jsonString(v)
		case "ClientRequestURI":
			uri = jsonString(v)
		case "ClientRequestPath":
			path = jsonString(v)
		case "EdgeResponseStatus":
			r.Status, _ = jsonInt(v)
		case "CacheCacheStatus":
			r.CacheWord = jsonString(v)
			r.Cache = p.words.verdict(r.CacheWord)
		case "RequestHeaders":
			eachString(v, func(name, value string) { bad = cmp.Or(bad, setHeader(r, name, value)) })
		case "ResponseHeaders", "ResponseFields":
			r.Stamped = true
			_ = members(v, func(name, raw string) {
				switch name = strings.ToLower(name); name {
				case p.stamp:
					r.Stamp = jsonString(raw)
				case guardField:
					bad = cmp.Or(bad, r.setGuard(jsonString(raw)))
				case requesterField:
					// The edge may hand the digest back on the response,
					// where no client can have set it: it wins over the
					// request's.
					answered = jsonString(raw)
				case "set-cookie":
					// One value, or all of them with preserve_duplicates.
					r.SetCookie = r.SetCookie || (raw != `""` && raw != "null" && raw != "[]")
				case setCookieField:
					// Set by the edge in place of the value, which is
					// a fresh session and has no place in a log.
					r.SetCookie = r.SetCookie || jsonString(raw) != ""
				case "cache-control", "expires", "vary":
					// Only a record that carries cache-control is
					// judged: without it, a header the response lacked
					// cannot be told from one the job does not log.
					r.setStorageHeader(name, jsonString(raw))
				}
			})
		case "Cookies":
			cookies = cookieHeader(v)
		case "content":
			// Logpush validates an HTTP destination by uploading
			// {"content":"tests"}.
			test = true
		}
	})
	if answered != "" && answered != "-" {
		bad = cmp.Or(bad, r.setRequester(answered))
	}
	if err = cmp.Or(err, bad); err != nil {
		return err
	}
	if r.Cookie == "" {
		// The Cookie request header, when logged, is the whole truth;
		// else the cookies logged by name.
		r.Cookie = cookies
	}
	uri = cmp.Or(uri, path)
	if !strings.HasPrefix(uri, "/") {
		if test && uri == "" {
			return errSkip
		}
		return errNoURI
	}
	r.Path, r.Query, _ = strings.Cut(uri, "?")
	return nil
}

// guardField is fence.GuardHeader as Logpush writes header names.
var guardField = strings.ToLower(fence.GuardHeader)

// requesterField is RequesterHeader as Logpush writes header names.
var requesterField = strings.ToLower(RequesterHeader)

// setCookieField is the response header the edge sets, as Logpush writes
// it, to say that the response set a cookie without logging the cookie.
var setCookieField = strings.ToLower(fence.SetCookieHeader)

// eachMember reads a line of a JSON format with members; a blank line
// holds no record.
func eachMember(line string, fn func(key, value string)) error {
	if strings.TrimSpace(line) == "" {
		return errSkip
	}
	return members(line, fn)
}

// eachString calls fn for each member of the JSON object raw whose value
// is a string; anything else in raw is ignored.
func eachString(raw string, fn func(key, value string)) {
	_ = members(raw, func(key, v string) {
		if strings.HasPrefix(v, `"`) {
			fn(key, unquote(v))
		}
	})
}

// cookieHeader rebuilds a Cookie header from Logpush's Cookies object,
// name to value.
func cookieHeader(raw string) string {
	var b strings.Builder
	eachString(raw, func(name, value string) {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
	})
	return b.String()
}

// fastlyParser reads the recommended Fastly log format (docs/logs.md):
// time, host, method, url, status, fastly_state, cache_fence_owner,
// set_cookie, cache_control, expires and vary, the requester digest
// (requester) or, in its place, cookie and authorization, and the edge
// guard's verdict (guard).
type fastlyParser struct{ words words }

func (p *fastlyParser) parse(line string, r *Record) error {
	var uri string
	var bad error
	err := eachMember(line, func(key, v string) {
		switch key {
		case "time":
			r.Time, _ = parseTime(jsonString(v))
		case "host":
			r.Host = fastlyValue(v)
		case "method":
			r.Method = fastlyValue(v)
		case "url":
			uri = fastlyValue(v)
		case "status":
			r.Status, _ = jsonInt(v)
		case "fastly_state":
			r.CacheWord = fastlyValue(v)
			r.Cache = p.words.verdict(r.CacheWord)
		case "cookie":
			r.Cookie = fastlyValue(v)
		case "authorization":
			r.Authorization = fastlyValue(v)
		case "requester":
			bad = cmp.Or(bad, r.setRequester(fastlyValue(v)))
		case "guard":
			bad = cmp.Or(bad, r.setGuard(fastlyValue(v)))
		case "cache_fence_owner":
			r.Stamped = true
			r.Stamp = fastlyValue(v)
		case "set_cookie":
			r.SetCookie = v == "true"
		case "cache_control", "expires", "vary":
			r.setStorageHeader(strings.ReplaceAll(key, "_", "-"), fastlyValue(v))
		}
	})
	if err = cmp.Or(err, bad); err != nil {
		return err
	}
	if !strings.HasPrefix(uri, "/") {
		return errNoURI
	}
	r.Path, r.Query, _ = strings.Cut(uri, "?")
	return nil
}

// fastlyValue reads a string Fastly logged; it writes "(null)" for a
// header that is not set.
func fastlyValue(raw string) string {
	if s := jsonString(raw); s != "(null)" && s != "-" {
		return s
	}
	return ""
}

// datastreamParser reads Akamai DataStream 2 JSON
// (techdocs.akamai.com/datastream2/docs/log-format-1). Values are strings,
// hex-encoded per RFC 1738 outside printable ASCII. The owner stamp comes
// in the custom log field (docs/logs.md).
type datastreamParser struct{ words words }

func (p *datastreamParser) parse(line string, r *Record) error {
	var cacheable string
	var bad error
	err := eachMember(line, func(key, v string) {
		switch key {
		case "reqTimeSec":
			r.Time, _ = parseTime(jsonString(v))
		case "reqHost":
			r.Host = jsonString(v)
		case "reqMethod":
			r.Method = jsonString(v)
		case "reqPath":
			r.Path = jsonString(v)
		case "queryStr":
			r.Query = jsonString(v)
		case "statusCode":
			r.Status, _ = jsonInt(v)
		case "cacheStatus":
			r.CacheWord = jsonString(v)
			r.Cache = p.words.verdict(r.CacheWord)
		case "cacheable":
			cacheable = jsonString(v)
		case "cookie":
			r.Cookie = escape.Percent(jsonString(v))
		case "customField":
			r.Stamped = true
			var requester, guard string
			r.Stamp, requester, guard = customWords(escape.Percent(jsonString(v)))
			bad = cmp.Or(bad, r.setRequester(requester), r.setGuard(guard))
		}
	})
	if err = cmp.Or(err, bad); err != nil {
		return err
	}
	if r.Path == "" || r.Path == "-" {
		return errNoURI
	}
	if !strings.HasPrefix(r.Path, "/") {
		r.Path = "/" + r.Path
	}
	if r.Cache == cachestatus.Stored && cacheable == "0" {
		// Not from the cache, and not cacheable: the cache passed it.
		r.Cache = cachestatus.Passed
	}
	return nil
}

// customWords reads a custom log field: the owner stamp, alone or among
// other values separated by '|', ';', ',' or spaces, the requester
// digest, the word "requester=v1.…", and the edge guard's verdict, the
// word "guard=refused" or "guard=passed". Stamps start "v1." (after a
// name and '=', if any); the field may hold other things, and they are no
// stamp.
func customWords(field string) (stamp, requester, guard string) {
	for word := range strings.FieldsFuncSeq(field, func(c rune) bool {
		return c == '|' || c == ';' || c == ',' || c == ' '
	}) {
		if v, ok := strings.CutPrefix(word, customRequester); ok {
			requester = v
			continue
		}
		if v, ok := strings.CutPrefix(word, tabGuard); ok {
			guard = v
			continue
		}
		if v := word[strings.LastIndexByte(word, '=')+1:]; stamp == "" && strings.HasPrefix(v, stampPrefix) {
			stamp = v
		}
	}
	return stamp, requester, guard
}

// customRequester names the requester digest in a custom log field.
const customRequester = "requester="

// cloudCDNParser reads Google Cloud CDN's LoadBalancerLogEntry, one per
// line as a Cloud Logging sink to Cloud Storage or Pub/Sub writes them
// (cloud.google.com/cdn/docs/logging). Cloud CDN logs neither cookies nor
// response headers.
type cloudCDNParser struct{ words words }

func (p *cloudCDNParser) parse(line string, r *Record) error {
	var requestURL string
	var cacheHit bool
	err := eachMember(line, func(key, v string) {
		switch key {
		case "timestamp":
			r.Time, _ = parseTime(jsonString(v))
		case "httpRequest":
			_ = members(v, func(key, v string) {
				switch key {
				case "requestMethod":
					r.Method = jsonString(v)
				case "requestUrl":
					requestURL = jsonString(v)
				case "status":
					r.Status, _ = jsonInt(v)
				case "cacheHit":
					// Boolean fields appear only when true.
					cacheHit = v == "true"
				}
			})
		case "jsonPayload":
			eachString(v, func(key, value string) {
				if key == "statusDetails" {
					r.CacheWord = value
					r.Cache = p.words.verdict(value)
				}
			})
		}
	})
	if err != nil {
		return err
	}
	if r.Cache == cachestatus.Unknown && cacheHit {
		r.CacheWord, r.Cache = "cacheHit", cachestatus.Hit
	}
	// requestUrl is absolute: scheme://host/path?query.
	_, rest, ok := strings.Cut(requestURL, "://")
	if !ok {
		return fmt.Errorf("no usable requestUrl")
	}
	uri := "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest, uri = rest[:i], rest[i:]
	}
	r.Host = rest
	r.Path, r.Query, _ = strings.Cut(uri, "?")
	if r.Path == "" {
		r.Path = "/"
	}
	if !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("requestUrl without a path")
	}
	return nil
}
