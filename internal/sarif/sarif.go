// Package sarif writes findings as SARIF 2.1.0, the format code-scanning
// services read, once for audit, probe and logs: rules come from the
// catalogue, and each result carries what a service needs to match it
// across runs (a URI relative to a declared root, a fingerprint without
// line numbers). The subset written is the one GitHub documents:
// https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
package sarif

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/cachefence/cachefence/alert"
	"github.com/cachefence/cachefence/catalog"
)

// RootID is the uriBaseId of every relative URI: the directory the run
// declares as its root in originalUriBaseIds.
const RootID = "SRCROOT"

// FingerprintKey names the partial fingerprint; its version changes only
// if what it hashes changes, so alerts stay matched across releases.
const FingerprintKey = "cachefence/v1"

// Run is what one subcommand found.
type Run struct {
	// Tool names the subcommand: "cachefence audit".
	Tool string
	// Rules are the catalogue entries the tool can raise, each written
	// once; results point at them by index.
	Rules []*catalog.Entry
	// Help adds Markdown to a rule's help (the audit's vendor fixes).
	Help func(*catalog.Entry) string
	// Root is the directory that relative URIs start from; a file outside
	// it gets an absolute file: URI, never "../".
	Root    string
	Results []Result
	// Errors and Warnings are notifications: what could not be read, what
	// was skipped. A run with errors is not successful.
	Errors   []string
	Warnings []string
}

// Result is one finding.
type Result struct {
	ID      string
	Message string
	// File and Line locate it: a file path (relative to the working
	// directory or absolute) or a URL, and a line if known.
	File string
	Line int
	// Identity is what, beside its ID and its URI, makes the finding the
	// same finding in another run (a scope and a setting), never a line
	// number, so that an edit above it does not raise a new alert.
	Identity   string
	Severity   alert.Severity
	Properties map[string]any
}

type log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []run  `json:"runs"`
}

type run struct {
	Tool               tool                    `json:"tool"`
	OriginalURIBaseIDs map[string]artifactLink `json:"originalUriBaseIds"`
	Results            []result                `json:"results"`
	Invocations        []invocation            `json:"invocations"`
}

type tool struct {
	Driver driver `json:"driver"`
}

type driver struct {
	Name           string `json:"name"`
	InformationURI string `json:"informationUri"`
	Rules          []rule `json:"rules"`
}

type text struct {
	Text string `json:"text"`
}

type help struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     text           `json:"shortDescription"`
	FullDescription      text           `json:"fullDescription"`
	HelpURI              string         `json:"helpUri"`
	Help                 help           `json:"help"`
	DefaultConfiguration level          `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type level struct {
	Level string `json:"level"`
}

type result struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             text              `json:"message"`
	Locations           []location        `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type location struct {
	PhysicalLocation physical `json:"physicalLocation"`
}

type physical struct {
	ArtifactLocation artifactLink `json:"artifactLocation"`
	Region           *region      `json:"region,omitempty"`
}

type artifactLink struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type region struct {
	StartLine int `json:"startLine"`
}

type invocation struct {
	ExecutionSuccessful bool           `json:"executionSuccessful"`
	Notifications       []notification `json:"toolExecutionNotifications"`
}

type notification struct {
	Level   string `json:"level"`
	Message text   `json:"message"`
}

// levels maps severities to SARIF levels and to the security-severity
// score GitHub ranks security alerts by.
var levels = map[alert.Severity]struct{ level, score string }{
	alert.Critical: {"error", "9.5"},
	alert.High:     {"error", "8.0"},
	alert.Medium:   {"warning", "5.0"},
	alert.Low:      {"note", "2.0"},
	alert.Info:     {"note", "0.0"},
}

// Write writes r as a SARIF log of one run.
func Write(w io.Writer, r Run) error {
	root, err := filepath.Abs(r.Root)
	if err != nil {
		return err
	}
	out := run{
		Tool:               tool{Driver: driver{Name: r.Tool, InformationURI: catalog.Repository + "README.md"}},
		OriginalURIBaseIDs: map[string]artifactLink{RootID: {URI: fileURI(root) + "/"}},
		Results:            []result{},
	}
	index := map[string]int{}
	for i, e := range r.Rules {
		index[e.ID] = i
		out.Tool.Driver.Rules = append(out.Tool.Driver.Rules, ruleOf(e, r.Help))
	}
	for _, f := range r.Results {
		// The fingerprint takes the URI as written, relative to the root,
		// so that ./x and x, or another working directory, are one file.
		loc := artifact(root, f.File)
		res := result{RuleID: f.ID, RuleIndex: index[f.ID], Level: levels[f.Severity].level,
			Message:             text{f.Message},
			Locations:           []location{{PhysicalLocation: physical{ArtifactLocation: loc}}},
			PartialFingerprints: map[string]string{FingerprintKey: fingerprint(f.ID, loc.URI, f.Identity)},
			Properties:          f.Properties}
		if f.Line > 0 {
			res.Locations[0].PhysicalLocation.Region = &region{StartLine: f.Line}
		}
		out.Results = append(out.Results, res)
	}
	inv := invocation{ExecutionSuccessful: len(r.Errors) == 0, Notifications: []notification{}}
	for _, e := range r.Errors {
		inv.Notifications = append(inv.Notifications, notification{Level: "error", Message: text{e}})
	}
	for _, s := range r.Warnings {
		inv.Notifications = append(inv.Notifications, notification{Level: "warning", Message: text{s}})
	}
	out.Invocations = []invocation{inv}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []run{out}})
}

func ruleOf(e *catalog.Entry, extra func(*catalog.Entry) string) rule {
	md := "**" + e.Title + "**\n\n" + e.Meaning + "\n\n" + e.Remediation + "\n"
	if extra != nil {
		md += extra(e)
	}
	md += "\n[Documentation](" + e.DocURL() + ")\n"
	return rule{ID: e.ID, Name: e.ID, ShortDescription: text{e.Title}, FullDescription: text{e.Meaning},
		HelpURI: e.DocURL(), Help: help{Text: e.Meaning + " " + e.Remediation, Markdown: md},
		DefaultConfiguration: level{levels[e.Severity].level},
		Properties: map[string]any{"tags": []string{"security", "cache", string(e.Tool)}, "precision": "high",
			"security-severity": levels[e.Severity].score}}
}

// artifact locates path: a URL as it is, a file under root relative to
// it, any other file by its absolute file: URI.
func artifact(root, path string) artifactLink {
	if u, err := url.Parse(path); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return artifactLink{URI: path}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return artifactLink{URI: filepath.ToSlash(path), URIBaseID: RootID}
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return artifactLink{URI: fileURI(abs)}
	}
	return artifactLink{URI: (&url.URL{Path: filepath.ToSlash(rel)}).EscapedPath(), URIBaseID: RootID}
}

// fileURI is an absolute path's file: URI.
func fileURI(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

func fingerprint(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}
