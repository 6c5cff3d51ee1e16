package logs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// tabParser reads the recommended nginx log_format and varnishncsa -F
// format, which log the same ten tab-separated fields (docs/logs.md):
//
//	time host method uri status cache-status owner-stamp set-cookie authorization cookie
//
// Both escape tabs inside values, and the cookie comes last, so that even
// an unescaped tab cannot shift a field the checks read.
type tabParser struct {
	words words
}

// tabFields is the number of fields of the recommended formats.
const tabFields = 10

func (p *tabParser) parse(line string, r *Record) error {
	if isComment(line) {
		return errSkip
	}
	var f [tabFields]string
	n := 0
	for n < tabFields-1 {
		i := strings.IndexByte(line, '\t')
		if i < 0 {
			break
		}
		f[n], line = line[:i], line[i+1:]
		n++
	}
	f[n] = line
	if n+1 != tabFields {
		return fmt.Errorf("want %d tab-separated fields, got %d", tabFields, n+1)
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
	r.Authorization = unbackslash(dash(f[8]))
	r.Cookie = unbackslash(dash(f[9]))
	return nil
}

// isComment says whether a line of a tab-separated format holds no record:
// blank, or a "#" comment. Their records start with a timestamp, so no
// record starts with "#".
func isComment(line string) bool {
	return strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#")
}
