package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cachefence/cachefence/catalog"
	"io"
	"maps"
	"slices"
	"strings"
)

// Baseline is a configuration's normalised settings at one time: by file,
// each setting's path and value. Values that may be secrets are kept as a
// digest (the readers hide header values, storedValue what looks like a
// credential), so a baseline file holds none.
type Baseline struct {
	Version int                          `json:"version"`
	Files   map[string]map[string]string `json:"files"`
}

// baselineVersion 2 hides header values; version 1 baselines kept them in
// clear, and drift would print them.
const baselineVersion = 2

// volatile are the names of fields that change without a change of
// behaviour: ETags, versions, timestamps and the objects' own IDs.
var volatile = map[string]bool{
	"etag": true, "id": true, "version": true, "propertyversion": true, "lastmodifiedtime": true,
	"last_updated": true, "modified_on": true, "created_on": true, "updated_at": true,
	"created_at": true, "deleted_at": true, "creationtimestamp": true, "fingerprint": true,
	"terraform_version": true, "format_version": true, "service_version": true, "serial": true, "lineage": true,
}

// Volatile says whether a field of this name is left out of baselines.
func Volatile(name string) bool { return volatile[strings.ToLower(name)] }

// NewBaseline normalises cfg's settings.
func NewBaseline(cfg *Config) *Baseline {
	b := &Baseline{Version: baselineVersion, Files: map[string]map[string]string{}}
	for _, s := range cfg.Settings {
		if b.Files[s.File] == nil {
			b.Files[s.File] = map[string]string{}
		}
		b.Files[s.File][s.Name] = storedValue(s)
	}
	return b
}

func storedValue(s Setting) string {
	if LooksSecret(s.Name) || LooksSecret(s.Value) {
		return Digest(s.Value)
	}
	return s.Value
}

// ReadBaseline reads a baseline written by Write.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	var b Baseline
	if err := json.NewDecoder(r).Decode(&b); err != nil {
		return nil, fmt.Errorf("reading the baseline: %w", err)
	}
	if b.Version == 1 {
		return nil, errors.New("a baseline of version 1 may hold header values in clear, such as an origin secret: " +
			"write it again with --write-baseline, and change any secret it held")
	}
	if b.Version != baselineVersion || b.Files == nil {
		return nil, fmt.Errorf("not a cachefence baseline (version %d)", b.Version)
	}
	return &b, nil
}

// Write writes the baseline as JSON.
func (b *Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

// Drift reports every change from b to cfg as a finding of kind drift.
// Files that cfg did not read are reported once each, not setting by
// setting.
func (b *Baseline) Drift(cfg *Config) []Finding {
	now := NewBaseline(cfg)
	lines := map[[2]string]int{}
	for _, s := range cfg.Settings {
		lines[[2]string{s.File, s.Name}] = s.Line
	}
	var out []Finding
	for _, file := range slices.Sorted(maps.Keys(b.Files)) {
		if _, ok := now.Files[file]; !ok {
			audited := "audited"
			out = append(out, driftFinding(file, 0, "(file)", &audited, nil))
		}
	}
	for _, file := range slices.Sorted(maps.Keys(now.Files)) {
		before, after := b.Files[file], now.Files[file]
		if before == nil {
			absent := "not in the baseline"
			out = append(out, driftFinding(file, 0, "(file)", &absent, nil))
			continue
		}
		keys := slices.Collect(maps.Keys(before))
		for k := range after {
			if _, ok := before[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			old, hadOld := before[k]
			cur, hasCur := after[k]
			if hadOld && hasCur && old == cur {
				continue
			}
			out = append(out, driftFinding(file, lines[[2]string{file, k}], k, present(old, hadOld), present(cur, hasCur)))
		}
	}
	return out
}

// present returns a side of a change, as stored: a hidden value shows as
// its digest, which says that it changed.
func present(v string, ok bool) *string {
	if !ok {
		return nil
	}
	return &v
}

func driftFinding(file string, line int, name string, before, after *string) Finding {
	return Finding{ID: driftEntry.ID, Kind: KindDrift, Severity: driftEntry.Severity, File: file, Line: line,
		Scope: "changed since the baseline", Setting: name, Value: side(after),
		Message: driftEntry.Meaning, Before: before, After: after}
}

// driftEntry is the catalogue's entry of drift findings, which no check
// makes.
var driftEntry = catalog.Must(KindDrift)
