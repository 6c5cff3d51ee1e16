package escape

import "testing"

func TestPercent(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"plain":       "plain",
		"a%20b":       "a b",
		"%2F%2f":      "//",
		"a+b":         "a+b",
		"100%":        "100%",
		"%zz%4":       "%zz%4",
		"%E2%9C%93":   "\u2713",
		"%2561ccount": "%61ccount", // one round only
		"%%41":        "%A",
	} {
		if got := Percent(in); got != want {
			t.Errorf("Percent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHexByte(t *testing.T) {
	for _, tc := range []struct {
		s    string
		i    int
		want byte
		ok   bool
	}{
		{"x41", 1, 'A', true},
		{"ff", 0, 0xff, true},
		{"f", 0, 0, false},
		{"g0", 0, 0, false},
		{"41", -1, 0, false},
	} {
		if got, ok := HexByte(tc.s, tc.i); got != tc.want || ok != tc.ok {
			t.Errorf("HexByte(%q, %d) = %v, %v; want %v, %v", tc.s, tc.i, got, ok, tc.want, tc.ok)
		}
	}
}
