// Package logs reads CDN and cache access logs and finds personal
// responses served from a shared cache: a page stamped by cache_fence for
// one requester and served to another, a personal response served from
// storage, and, in CloudFront's logs, which carry no response headers, the
// pattern request collapsing leaves.
//
// Each vendor's format is a parser that turns one line into a Record;
// Read runs one over a stream, with bounded memory whatever the stream
// holds. A Checker judges records, Receiver accepts pushed logs over HTTP,
// and Window and Metrics connect the findings to the alert package.
package logs

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cachefence/cachefence/cachestatus"
	"github.com/cachefence/cachefence/fence"
)

// Record is one request as its log line tells it, reduced to what the
// checks need. Strings are as the client sent them, escapes of the log
// format undone.
type Record struct {
	// Line is the line's number in its source, from 1; for pushed logs,
	// within the push.
	Line int64
	Time time.Time
	Method,
	Host string
	// Path is the path as requested, escapes included, and Query the
	// query string after "?".
	Path, Query string
	Status      int
	// Cache is what the cache says it did, and CacheWord the word it
	// logged.
	Cache     cachestatus.Verdict
	CacheWord string
	// Requester is the requester digest the edge logged (RequesterHeader):
	// the owner stamp the fence gives this requester. "" when the line
	// carries none; then the requester is read from the raw credentials.
	Requester string
	// Cookie and Authorization are the request's headers; "" when absent.
	// A record with a Requester is never judged by them.
	Cookie, Authorization string
	// Header holds the other request headers the log carries, for the
	// fence's credential headers; nil when it carries none.
	Header http.Header
	// Stamped says the format logs the response's owner stamp, and Stamp
	// is its value ("" when the response had none).
	Stamped bool
	Stamp   string
	// SetCookie says the response set a cookie.
	SetCookie bool
	// Guard is the edge guard's verdict (fence.GuardHeader) when the
	// format logs it: fence.GuardRefused or fence.GuardPassed, "" for
	// none.
	Guard string
	// StorageLogged says the format logs the response's Cache-Control,
	// which says whether a shared cache may store it. CacheControl,
	// Expires and Vary are the response's headers, "" when it had none
	// or the format does not log them (docs/logs.md says which do).
	StorageLogged               bool
	CacheControl, Expires, Vary string
}

// setStorageHeader records a logged response header that
// fence.SharedStorable reads, by its name in lower case; a logged
// Cache-Control is what makes the record's headers judged.
func (r *Record) setStorageHeader(name, value string) {
	switch name {
	case "cache-control":
		r.StorageLogged = true
		r.CacheControl = value
	case "expires":
		r.Expires = value
	case "vary":
		r.Vary = value
	}
}

// storageHeader returns the response headers the record holds that
// fence.SharedStorable reads, but Set-Cookie, which is a reason of its
// own.
func (r *Record) storageHeader() http.Header {
	h := make(http.Header, 3)
	for _, f := range [...]struct{ name, value string }{{"Cache-Control", r.CacheControl}, {"Expires", r.Expires}, {"Vary", r.Vary}} {
		if f.value != "" {
			h[f.name] = []string{f.value}
		}
	}
	return h
}

// Format names a log format.
type Format string

// The formats. Each is documented, with the configuration that makes the
// CDN log what the checks need, in docs/logs.md.
const (
	// CloudFront is CloudFront's standard log (W3C, with a #Fields line).
	CloudFront Format = "cloudfront"
	// CloudFrontRealtime is a CloudFront real-time log record, whose
	// fields are given by Options.Fields.
	CloudFrontRealtime Format = "cloudfront-realtime"
	// Cloudflare is Logpush's http_requests dataset, NDJSON.
	Cloudflare Format = "cloudflare"
	// Fastly is JSON lines in the recommended log format.
	Fastly Format = "fastly"
	// Akamai is DataStream 2 JSON.
	Akamai Format = "akamai"
	// CloudCDN is Google Cloud CDN's entries from Cloud Logging, as JSON
	// lines.
	CloudCDN Format = "gcp"
	// Varnishncsa is varnishncsa with the recommended -F format.
	Varnishncsa Format = "varnishncsa"
	// Nginx is nginx with the recommended log_format.
	Nginx Format = "nginx"
)

// Options say how to read a log.
type Options struct {
	// Format is the log's format; empty means to tell it from the first
	// line (CloudFront's #Fields, the JSON formats' keys).
	Format Format
	// Fields are a CloudFront real-time log configuration's fields, in any
	// order: records hold them in the documented order.
	Fields []string
	// StampHeader names the owner-stamp header, for formats that log
	// response headers by name (Logpush's ResponseHeaders). Empty means
	// fence.DefaultStampHeader.
	StampHeader string
	// MaxLine bounds a line, in bytes; a longer one is a bad line. Zero
	// means DefaultMaxLine.
	MaxLine int

	// onBad, if set, is told of each bad line as it is found: a followed
	// file's Read returns only when the follow ends.
	onBad func(Format, BadLine)
}

// DefaultMaxLine is the default bound on a line: far above any CDN's
// record (CloudFront truncates its cookie and header fields to 800 bytes).
const DefaultMaxLine = 64 << 10

// parser reads one format. It may keep state from line to line (the W3C
// #Fields line).
type parser interface {
	// parse reads line into r, which it finds zeroed. It returns errSkip
	// for a line that holds no record, or an error that says what is
	// wrong without quoting the line, which may hold secrets.
	parse(line string, r *Record) error
}

// words reads one log field's cache-status words with cachestatus.Field,
// remembering the verdicts: a log holds few distinct words, and a word
// read again costs a map lookup.
type words struct {
	field string
	seen  map[string]cachestatus.Verdict
}

// maxWords bounds what words remembers; a log of random words is read
// word by word.
const maxWords = 64

func (w *words) verdict(word string) cachestatus.Verdict {
	if v, ok := w.seen[word]; ok {
		return v
	}
	v := cachestatus.Field(w.field, word)
	if w.seen == nil {
		w.seen = map[string]cachestatus.Verdict{}
	}
	if len(w.seen) < maxWords {
		// A copy: word is a slice of its whole line.
		w.seen[strings.Clone(word)] = v
	}
	return v
}

// RequesterHeader is the header in which the edge hands the log the
// requester digest (fence.RequesterHeader).
const RequesterHeader = fence.RequesterHeader

// errBadRequester is the error of a line whose requester digest is not
// one; the value is never quoted, since a misconfigured edge may log a
// credential in its place.
var errBadRequester = errors.New("malformed requester digest (want v1. and 22 base64url characters)")

// setRequester records a logged requester digest: "" or "-" (what nginx
// and varnishncsa log for an absent header) is none.
func (r *Record) setRequester(v string) error {
	switch {
	case v == "" || v == "-":
		return nil
	case !wellFormedStamp(v):
		return errBadRequester
	}
	r.Requester = v
	return nil
}

// errBadGuard is the error of a line whose guard field holds neither
// verdict; the value is not quoted.
var errBadGuard = errors.New("malformed guard verdict (want refused, passed or -)")

// setGuard records a logged guard verdict: "" or "-" is none.
func (r *Record) setGuard(v string) error {
	switch v {
	case "", "-":
	case fence.GuardRefused, fence.GuardPassed:
		r.Guard = v
	default:
		return errBadGuard
	}
	return nil
}

// errSkip marks a line that is not a record: a W3C directive, a blank
// line, Logpush's test upload.
var errSkip = errors.New("not a record")
