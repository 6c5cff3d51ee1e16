package logs

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cachefence/cachefence/internal/escape"
)

// CloudFront logs no response header: neither the owner stamp nor
// Set-Cookie. Its records feed the private-path and collapse checks.

// w3cParser reads CloudFront's standard log: tab-separated values in the
// order its "#Fields:" directive gives, "-" for none, values URL-encoded
// (docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html).
type w3cParser struct {
	// cols are, for each value a record needs, the columns that may hold
	// it, from the last #Fields line, in the order they are tried.
	cols   [w3cValues][]int
	n      int
	fields []string // the current line's, reused
	words  words
	// day is the last date read, and its midnight: a log's lines share
	// a few dates.
	day      string
	midnight time.Time
}

// The values a standard log's record gives, and the fields each is
// read from, the first that is not "-".
const (
	w3cDate = iota
	w3cTime
	w3cHost
	w3cMethod
	w3cStem
	w3cQuery
	w3cStatus
	w3cResult
	w3cCookie
	w3cValues
)

var w3cFields = [w3cValues][]string{
	w3cDate: {"date"}, w3cTime: {"time"},
	// x-host-header is the Host the viewer sent; cs(Host) the
	// distribution's own domain.
	w3cHost: {"x-host-header", "cs(Host)"}, w3cMethod: {"cs-method"}, w3cStem: {"cs-uri-stem"},
	w3cQuery: {"cs-uri-query"}, w3cStatus: {"sc-status"},
	w3cResult: {"x-edge-result-type", "x-edge-response-result-type", "x-edge-detailed-result-type"},
	w3cCookie: {"cs(Cookie)"},
}

func (p *w3cParser) parse(line string, r *Record) error {
	if strings.HasPrefix(line, "#") {
		if fields, ok := strings.CutPrefix(line, "#Fields:"); ok {
			names := strings.Fields(fields)
			for v, want := range w3cFields {
				p.cols[v] = p.cols[v][:0]
				for _, name := range want {
					if i := slices.Index(names, name); i >= 0 {
						p.cols[v] = append(p.cols[v], i)
					}
				}
			}
			p.n = len(names)
		}
		return errSkip
	}
	if strings.TrimSpace(line) == "" {
		return errSkip
	}
	if p.n == 0 {
		return fmt.Errorf("record before the #Fields line")
	}
	p.fields = splitTabs(p.fields[:0], line)
	f := p.fields
	if len(f) != p.n {
		return fmt.Errorf("want %d tab-separated fields as #Fields says, got %d", p.n, len(f))
	}
	get := func(v int) string {
		for _, i := range p.cols[v] {
			if f[i] != "-" {
				return f[i]
			}
		}
		return ""
	}
	t, ok := p.time(get(w3cDate), get(w3cTime))
	if !ok {
		return fmt.Errorf("bad date or time")
	}
	r.Time = t
	return cloudFrontRecord(r, &p.words, get(w3cHost), get(w3cMethod), get(w3cStem),
		get(w3cQuery), get(w3cStatus), get(w3cResult), get(w3cCookie), "")
}

// time reads date and clock as time.Parse("2006-01-02 15:04:05") does:
// the date once per day, the clock by hand when it has CloudFront's form.
func (p *w3cParser) time(date, clock string) (time.Time, bool) {
	t, ok := p.fastTime(date, clock)
	if !ok {
		var err error
		t, err = time.Parse("2006-01-02 15:04:05", date+" "+clock)
		ok = err == nil
	}
	return t, ok
}

func (p *w3cParser) fastTime(date, clock string) (time.Time, bool) {
	if date != p.day || date == "" {
		d, err := time.Parse("2006-01-02", date)
		if err != nil {
			return time.Time{}, false
		}
		p.day, p.midnight = strings.Clone(date), d
	}
	if len(clock) != 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	var hms [3]int
	for k := range hms {
		a, b := clock[3*k], clock[3*k+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return time.Time{}, false
		}
		hms[k] = int(a-'0')*10 + int(b-'0')
	}
	if hms[0] > 23 || hms[1] > 59 || hms[2] > 59 {
		return time.Time{}, false
	}
	return p.midnight.Add(time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute + time.Duration(hms[2])*time.Second), true
}

// cloudFrontRecord fills r with the fields both CloudFront formats log.
func cloudFrontRecord(r *Record, w *words, host, method, stem, query, status, result, cookie, headers string) error {
	if !strings.HasPrefix(stem, "/") {
		return fmt.Errorf("bad cs-uri-stem")
	}
	// The real-time stem holds the query too.
	var inStem string
	r.Path, inStem, _ = strings.Cut(stem, "?")
	r.Query = cmp.Or(query, inStem)
	r.Host, r.Method = host, method
	if status != "" {
		n, err := strconv.Atoi(status)
		if err != nil {
			return fmt.Errorf("bad sc-status")
		}
		r.Status = n
	}
	r.CacheWord = result
	r.Cache = w.verdict(result)
	r.Cookie = escape.Percent(cookie)
	if headers != "" {
		// cs-headers: "Name:value" lines, URL-encoded, cut at 800 bytes.
		for line := range strings.SplitSeq(escape.Percent(headers), "\n") {
			if name, v, ok := strings.Cut(line, ":"); ok && name != "Cookie" && name != "cookie" {
				if err := setHeader(r, name, strings.TrimSpace(v)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// setHeader records a logged request header: Cookie, Authorization and
// the requester digest in their fields, the rest in r.Header. Only a
// malformed digest is an error.
func setHeader(r *Record, name, value string) error {
	switch name = http.CanonicalHeaderKey(name); name {
	case "Cookie":
		r.Cookie = value
	case "Authorization":
		r.Authorization = value
	case RequesterHeader:
		return r.setRequester(value)
	default:
		if r.Header == nil {
			r.Header = http.Header{}
		}
		r.Header[name] = append(r.Header[name], value)
	}
	return nil
}

// realtimeOrder are the real-time log's fields, in the fixed order of
// its records (doc_source/real-time-logs.md in
// awsdocs/amazon-cloudfront-developer-guide), with the five fields added
// since, which AWS's Athena table for real-time logs lists after
// cs-headers-count
// (docs.aws.amazon.com/athena/latest/ug/create-cloudfront-table-real-time-logs.html).
// That page is also where AWS documents the fields' delimiter: a tab.
var realtimeOrder = []string{
	"timestamp", "c-ip", "time-to-first-byte", "sc-status", "sc-bytes", "cs-method", "cs-protocol",
	"cs-host", "cs-uri-stem", "cs-bytes", "x-edge-location", "x-edge-request-id", "x-host-header",
	"time-taken", "cs-protocol-version", "c-ip-version", "cs-user-agent", "cs-referer", "cs-cookie",
	"cs-uri-query", "x-edge-response-result-type", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
	"x-edge-result-type", "fle-encrypted-fields", "fle-status", "sc-content-type", "sc-content-len",
	"sc-range-start", "sc-range-end", "c-port", "x-edge-detailed-result-type", "c-country",
	"cs-accept-encoding", "cs-accept", "cache-behavior-path-pattern", "cs-headers", "cs-header-names",
	"cs-headers-count", "primary-distribution-id", "primary-distribution-dns-name", "origin-fbl",
	"origin-lbl", "asn",
}

// realtimeParser reads CloudFront real-time log records: tab-separated,
// as AWS documents them, the configured fields in the documented order
// whatever order they were chosen in.
type realtimeParser struct {
	index  map[string]int
	n      int
	fields []string // the current line's, reused
	words  words
}

// CheckFields checks a CloudFront real-time log configuration's fields, as
// Options.Fields takes them.
func CheckFields(fields []string) error {
	_, err := newRealtimeParser(fields)
	return err
}

func newRealtimeParser(fields []string) (*realtimeParser, error) {
	if len(fields) == 0 {
		return nil, fmt.Errorf("cloudfront-realtime needs the real-time log configuration's fields (--fields)")
	}
	chosen := map[string]bool{}
	for _, f := range fields {
		if !slices.Contains(realtimeOrder, f) {
			return nil, fmt.Errorf("--fields: %q is not a CloudFront real-time log field", f)
		}
		chosen[f] = true
	}
	for _, need := range []string{"timestamp", "cs-uri-stem"} {
		if !chosen[need] {
			return nil, fmt.Errorf("--fields: the checks need %s", need)
		}
	}
	p := &realtimeParser{index: map[string]int{}, words: words{field: "x-edge-result-type"}}
	for _, f := range realtimeOrder {
		if chosen[f] {
			p.index[f] = p.n
			p.n++
		}
	}
	return p, nil
}

func (p *realtimeParser) parse(line string, r *Record) error {
	if isComment(line) {
		return errSkip
	}
	p.fields = splitTabs(p.fields[:0], line)
	f := p.fields
	if len(f) != p.n {
		return fmt.Errorf("want %d tab-separated fields, got %d", p.n, len(f))
	}
	get := func(names ...string) string {
		for _, name := range names {
			if i, ok := p.index[name]; ok && f[i] != "-" {
				return f[i]
			}
		}
		return ""
	}
	var ok bool
	if r.Time, ok = parseTime(get("timestamp")); !ok {
		return fmt.Errorf("bad timestamp")
	}
	// Here cs-host is the Host the viewer sent, and x-host-header the
	// distribution's domain: the other way round from the standard log.
	return cloudFrontRecord(r, &p.words, get("cs-host", "x-host-header"), get("cs-method"), get("cs-uri-stem"),
		get("cs-uri-query"), get("sc-status"),
		get("x-edge-result-type", "x-edge-response-result-type", "x-edge-detailed-result-type"),
		get("cs-cookie"), get("cs-headers"))
}

// splitTabs appends line's tab-separated fields to f.
func splitTabs(f []string, line string) []string {
	for {
		i := strings.IndexByte(line, '\t')
		if i < 0 {
			return append(f, line)
		}
		f = append(f, line[:i])
		line = line[i+1:]
	}
}
