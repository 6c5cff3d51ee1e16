package tree

import (
	"encoding/json"
	"testing"
)

// ParseJSON accepts exactly what encoding/json accepts, gives every node
// a line within the input, and its tree flattens.
func FuzzParseJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseJSON(data)
		if valid := json.Valid(data); (err == nil) != valid {
			t.Fatalf("ParseJSON error %v, but json.Valid says %v", err, valid)
		}
		if err != nil {
			return
		}
		lines := 1
		for _, b := range data {
			if b == '\n' {
				lines++
			}
		}
		var walk func(*Node)
		walk = func(n *Node) {
			if n.Line < 1 || n.Line > lines {
				t.Fatalf("node %s at line %d of %d", n.Path, n.Line, lines)
			}
			for _, m := range n.Members {
				walk(m)
			}
			for _, i := range n.Items {
				walk(i)
			}
		}
		walk(n)
		Flatten("f.json", n)
	})
}
