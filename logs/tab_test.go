package logs

import "testing"

// A ten-field line whose cookie holds an unescaped tab (varnishncsa does
// not escape one) has as many tabs as an eleven-field line: it must still
// be read as ten fields, so that its Authorization value never stands
// where the Cache-Control does, which findings quote.
func TestTabLayoutOfEachLine(t *testing.T) {
	for _, tc := range []struct {
		name, line                          string
		authorization, cookie, cacheControl string
		storageLogged                       bool
	}{
		{"ten fields", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tBearer SECRET\tsid=1",
			"Bearer SECRET", "sid=1", "", false},
		{"ten fields, a tab in the cookie", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tBearer SECRET\tsid=1\tx=2",
			"Bearer SECRET", "sid=1\tx=2", "", false},
		{"ten fields, Basic, a tab in the cookie", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tBasic dXNlcjpw\tsid=1\tx=2",
			"Basic dXNlcjpw", "sid=1\tx=2", "", false},
		{"eleven fields", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tprivate, no-store\tBearer SECRET\tsid=1",
			"Bearer SECRET", "sid=1", "private, no-store", true},
		{"eleven fields, no Cache-Control", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\t-\t-\tsid=1",
			"", "sid=1", "", true},
	} {
		p := &tabParser{words: words{field: "$upstream_cache_status"}}
		var r Record
		if err := p.parse(tc.line, &r); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if r.Authorization != tc.authorization || r.Cookie != tc.cookie || r.CacheControl != tc.cacheControl || r.StorageLogged != tc.storageLogged {
			t.Errorf("%s: Authorization %q, Cookie %q, Cache-Control %q (logged %v); want %q, %q, %q (%v)", tc.name,
				r.Authorization, r.Cookie, r.CacheControl, r.StorageLogged, tc.authorization, tc.cookie, tc.cacheControl, tc.storageLogged)
		}
	}
}
