package logs

import (
	"testing"
	"time"
)

// The standard log's clock, read by hand, agrees with time.Parse on every
// form, whether it takes the fast way or falls back.
func TestW3CTime(t *testing.T) {
	p := &w3cParser{}
	for _, tc := range [][2]string{
		{"2019-12-04", "21:02:31"}, {"2019-12-04", "00:00:00"}, {"2019-12-04", "23:59:59"},
		{"2019-12-05", "01:02:03"}, {"2019-12-04", "21:02:31"}, // a day, then back
		{"2019-12-04", "24:00:00"}, {"2019-12-04", "23:60:00"}, {"2019-12-04", "23:00:60"},
		{"2019-12-04", "1:02:03"}, {"2019-12-04", "21-02-31"}, {"2019-12-04", "2a:02:31"}, {"2019-12-04", ""},
		{"2019-02-30", "10:00:00"}, {"", "10:00:00"}, {"2019-12-04", "21:02:31.5"},
	} {
		want, err := time.Parse("2006-01-02 15:04:05", tc[0]+" "+tc[1])
		got, ok := p.time(tc[0], tc[1])
		if ok != (err == nil) || !got.Equal(want) {
			t.Errorf("%s %s: got %v %v, time.Parse %v %v", tc[0], tc[1], got, ok, want, err)
		}
	}
}
