package logs

import "testing"

// A ten-field line whose cookie holds an unescaped tab (varnishncsa does
// not escape one) has as many tabs as an eleven-field line: it must still
// be read as ten fields, so that its Authorization value never stands
// where the Cache-Control does, which findings quote. Likewise an
// eleven-field line whose cookie holds a tab gains a twelfth field, the
// requester digest, only if what follows the tab is a digest or "-".
func TestTabLayoutOfEachLine(t *testing.T) {
	for _, tc := range []struct {
		name, line                          string
		authorization, cookie, cacheControl string
		storageLogged                       bool
		requester, guard                    string
	}{
		{"ten fields", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tBearer SECRET\tsid=1",
			"Bearer SECRET", "sid=1", "", false, "", ""},
		{"ten fields, a tab in the cookie", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tBearer SECRET\tsid=1\tx=2",
			"Bearer SECRET", "sid=1\tx=2", "", false, "", ""},
		{"ten fields, Basic, a tab in the cookie", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tBasic dXNlcjpw\tsid=1\tx=2",
			"Basic dXNlcjpw", "sid=1\tx=2", "", false, "", ""},
		{"eleven fields", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tprivate, no-store\tBearer SECRET\tsid=1",
			"Bearer SECRET", "sid=1", "private, no-store", true, "", ""},
		{"eleven fields, no Cache-Control", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\t-\t-\tsid=1",
			"", "sid=1", "", true, "", ""},
		{"twelve fields, a digest", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tprivate, no-store\t-\t-\t" + stampAlice,
			"", "", "private, no-store", true, stampAlice, ""},
		{"twelve fields, no digest", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tprivate\t-\t-\t-",
			"", "", "private", true, "", ""},
		{"eleven fields, a tab in the cookie", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\t-\tBearer SECRET\tsid=1\tx=2",
			"Bearer SECRET", "sid=1\tx=2", "", true, "", ""},
		{"eleven fields, a tab in the cookie before something like a digest", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\t-\t-\tsid=1\tv1x",
			"", "sid=1\tv1x", "", true, "", ""},
		// The guard's field comes last, after the requester digest or the
		// cookie.
		{"thirteen fields, a digest and the guard", "1764470000.000\th\tGET\t/a\t503\thit\t-\t-\tprivate, no-store\t-\t-\t" + stampAlice + "\tguard=refused",
			"", "", "private, no-store", true, stampAlice, "refused"},
		{"thirteen fields, no guard", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tprivate\t-\t-\t" + stampAlice + "\tguard=-",
			"", "", "private", true, stampAlice, ""},
		{"twelve fields, credentials and the guard", "1764470000.000\th\tGET\t/a\t200\tpass\t-\t-\t-\tBearer SECRET\tsid=1\tguard=passed",
			"Bearer SECRET", "sid=1", "", true, "", "passed"},
		// The one ambiguity: a cookie ending in a tab and "-" loses them.
		{"eleven fields, a tab and a dash ending the cookie", "1764470000.000\th\tGET\t/a\t200\thit\t-\t-\t-\t-\tsid=1\t-",
			"", "sid=1", "", true, "", ""},
	} {
		p := &tabParser{words: words{field: "$upstream_cache_status"}}
		var r Record
		if err := p.parse(tc.line, &r); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if r.Authorization != tc.authorization || r.Cookie != tc.cookie || r.CacheControl != tc.cacheControl || r.StorageLogged != tc.storageLogged || r.Requester != tc.requester || r.Guard != tc.guard {
			t.Errorf("%s: Authorization %q, Cookie %q, Cache-Control %q (logged %v), Requester %q, Guard %q; want %q, %q, %q (%v), %q, %q", tc.name,
				r.Authorization, r.Cookie, r.CacheControl, r.StorageLogged, r.Requester, r.Guard, tc.authorization, tc.cookie, tc.cacheControl, tc.storageLogged, tc.requester, tc.guard)
		}
	}
}

// A guard field that holds neither verdict is a bad line, its value not
// quoted.
func TestTabBadGuard(t *testing.T) {
	p := &tabParser{words: words{field: "$upstream_cache_status"}}
	var r Record
	err := p.parse("1764470000.000\th\tGET\t/a\t200\thit\t-\t-\tprivate\t-\t-\t-\tguard=sid=SECRET", &r)
	if err != errBadGuard {
		t.Errorf("got %v, want %v", err, errBadGuard)
	}
}
