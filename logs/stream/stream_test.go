package stream

import (
	"slices"
	"testing"
)

func TestLines(t *testing.T) {
	type line struct {
		n    int
		text string
	}
	for _, tc := range []struct {
		in   string
		want []line
	}{
		{"", nil},
		{"a", []line{{1, "a"}}},
		{"a\n", []line{{1, "a"}}},
		{"a\r\nb\n", []line{{1, "a"}, {2, "b"}}},
		{"a\n\n\r\nd", []line{{1, "a"}, {4, "d"}}},
	} {
		var got []line
		for n, l := range Lines([]byte(tc.in)) {
			got = append(got, line{n, string(l)})
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Lines(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// Stopping early stops the split.
	for range Lines([]byte("a\nb\n")) {
		break
	}
}

func TestJoin(t *testing.T) {
	text := func(s *string) []byte { return []byte(*s) }
	for _, tc := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a\n"}, {[]string{"a", "bc"}, "a\nbc\n"}} {
		if got := string(Join(tc.in, text)); got != tc.want {
			t.Errorf("Join(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
