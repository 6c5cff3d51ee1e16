// Package storabletable holds one table of responses and whether a shared
// cache may store each, for the tests of every package that judges it: the
// fence's SharedStorable, cachefence probe and cachefence logs must give
// the same verdict on the same headers.
package storabletable

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
)

// Row is one response and its verdict.
type Row struct {
	Name   string      `json:"name"`
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	// Storable is the verdict; Why, when it is false, is words one of the
	// reasons holds.
	Storable bool   `json:"storable"`
	Why      string `json:"why"`
	// MaxAge is the lifetime Cache-Control gives shared caches, -1 for
	// none.
	MaxAge int64 `json:"max_age"`
}

//go:embed storable.json
var table []byte

// Rows returns the table, read anew for each caller, so that no test can
// change another's rows.
func Rows() ([]Row, error) {
	var t struct {
		Rows []Row `json:"rows"`
	}
	if err := json.Unmarshal(table, &t); err != nil {
		return nil, fmt.Errorf("storable.json: %w", err)
	}
	return t.Rows, nil
}
