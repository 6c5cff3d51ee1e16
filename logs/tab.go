package logs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// tabParser reads the recommended nginx log_format and varnishncsa -F
// format, which log the same eleven tab-separated fields (docs/logs.md),
// and a twelfth in digest mode:
//
//	time host method uri status cache-status owner-stamp set-cookie cache-control authorization cookie [requester]
//
// The ten fields recommended before the response's Cache-Control was
// logged are read too, line by line (a log may change layout at a reload):
// a line with fewer tabs, or whose ninth field cannot be a Cache-Control,
// has no cache-control field. nginx escapes tabs inside values, but
// varnishncsa does not: a tab in the cookie, which comes last, of a
// ten-field line must not move its Authorization value into the
// Cache-Control field, which findings quote.
//
// In digest mode a twelfth field follows the cookie: the requester digest
// (RequesterHeader), with Authorization and Cookie logged as "-". A line
// with an eleventh tab may also be a varnishncsa eleven-field line whose
// cookie holds a tab, so its last field is the twelfth only if it is "-"
// or starts like a digest, "v1.", as no cookie pair does; one that starts
// so and is no digest makes a bad line.
//
// Behind an edge guard (cachefence edge), a last field "guard=" and the
// guard's verdict follows (fence.GuardHeader; "-" when it set none).
type tabParser struct {
	words words
}

// tabFields is the number of fields of the recommended formats, and
// tabFieldsBefore that of the formats without the response's
// Cache-Control.
const (
	tabFields       = 11
	tabFieldsBefore = 10
)

// tabGuard starts the guard's field.
const tabGuard = "guard="

func (p *tabParser) parse(line string, r *Record) error {
	if isComment(line) {
		return errSkip
	}
	tabs := strings.Count(line, "\t")
	if tabs >= tabFields {
		i := strings.LastIndexByte(line, '\t')
		if v, ok := strings.CutPrefix(line[i+1:], tabGuard); ok {
			if err := r.setGuard(v); err != nil {
				return err
			}
			line = line[:i]
			tabs--
		}
	}
	if tabs >= tabFields {
		i := strings.LastIndexByte(line, '\t')
		if last := line[i+1:]; last == "-" || strings.HasPrefix(last, stampPrefix) {
			if err := r.setRequester(last); err != nil {
				return err
			}
			line = line[:i]
			tabs--
		}
	}
	fields := tabFields
	if tabs < tabFields-1 || !mayBeCacheControl(nthField(line, 8)) {
		fields = tabFieldsBefore
	}
	var f [tabFields]string
	n := 0
	for n < fields-1 {
		i := strings.IndexByte(line, '\t')
		if i < 0 {
			break
		}
		f[n], line = line[:i], line[i+1:]
		n++
	}
	f[n] = line
	if n+1 != fields {
		return fmt.Errorf("want %d tab-separated fields (%d without Cache-Control), got %d", tabFields, tabFieldsBefore, n+1)
	}
	var ok bool
	if r.Time, ok = parseTime(f[0]); !ok {
		return errors.New("bad time in field 1") // never the text: a shifted line may show a cookie
	}
	r.Host = unbackslash(dash(f[1]))
	r.Method = dash(f[2])
	uri := unbackslash(dash(f[3]))
	if !strings.HasPrefix(uri, "/") {
		return errors.New("bad request URI in field 4")
	}
	r.Path, r.Query, _ = strings.Cut(uri, "?")
	status, err := strconv.Atoi(f[4])
	if err != nil {
		return errors.New("bad status in field 5")
	}
	r.Status = status
	r.CacheWord = dash(f[5])
	r.Cache = p.words.verdict(r.CacheWord)
	r.Stamped = true
	r.Stamp = unbackslash(dash(f[6]))
	r.SetCookie = dash(f[7]) != ""
	credentials := f[8:fields]
	if fields == tabFields {
		r.setStorageHeader("cache-control", unbackslash(dash(f[8])))
		credentials = f[9:fields]
	}
	r.Authorization = unbackslash(dash(credentials[0]))
	r.Cookie = unbackslash(dash(credentials[1]))
	return nil
}

// nthField returns the tab-separated field of line at index n (from 0),
// which must exist.
func nthField(line string, n int) string {
	for range n {
		line = line[strings.IndexByte(line, '\t')+1:]
	}
	field, _, _ := strings.Cut(line, "\t")
	return field
}

// mayBeCacheControl reports a logged field that can hold a Cache-Control
// list: "-", or text whose spaces all follow a comma or another space, as
// between list members. An Authorization value ("Bearer abc", "Basic
// dXNl") has a space after its scheme, so a ten-field line with a tab in
// its cookie is not read as eleven.
func mayBeCacheControl(field string) bool {
	for i := 1; i < len(field); i++ {
		if field[i] == ' ' && field[i-1] != ',' && field[i-1] != ' ' {
			return false
		}
	}
	return !strings.HasPrefix(field, " ")
}

// isComment says whether a line of a tab-separated format holds no record:
// blank, or a "#" comment. Their records start with a timestamp, so no
// record starts with "#".
func isComment(line string) bool {
	return strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#")
}
