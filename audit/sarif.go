package audit

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0, the subset that GitHub code scanning reads:
// https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	HelpURI              string         `json:"helpUri,omitempty"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifLevel     `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifLevel struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifText       `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

// driftRule is the rule of drift findings, which no check makes.
var driftRule = &Check{ID: KindDrift, Severity: Low, Title: "Changed since the baseline",
	Leak: "A cache setting changed since the baseline was written; a change that is dangerous is also reported by its check."}

// sarifLevels maps severities to SARIF levels; GitHub ranks security
// alerts by security-severity.
var sarifLevels = map[Severity]struct {
	level    string
	security string
}{
	Critical: {"error", "9.5"},
	High:     {"error", "8.0"},
	Medium:   {"warning", "5.0"},
	Low:      {"note", "2.0"},
}

// WriteSARIF writes the report as SARIF 2.1.0, with one rule per check.
func (r *Report) WriteSARIF(w io.Writer) error {
	checks := append(append([]*Check{}, Checks...), driftRule)
	index := map[string]int{}
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "cachefence audit",
		InformationURI: "https://github.com/cachefence/cachefence/blob/main/docs/audit.md"}},
		Results: []sarifResult{}}
	for i, c := range checks {
		index[c.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(c))
	}
	for _, f := range r.Findings {
		res := sarifResult{RuleID: f.ID, RuleIndex: index[f.ID], Level: sarifLevels[f.Severity].level,
			Message:    sarifText{Text: sarifMessage(f)},
			Locations:  []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(f.File)}}}},
			Properties: map[string]any{"severity": f.Severity, "scope": f.Scope, "setting": f.Setting, "defended_by_fence": f.DefendedByFence}}
		if f.Line > 0 {
			res.Locations[0].PhysicalLocation.Region = &sarifRegion{StartLine: f.Line}
		}
		run.Results = append(run.Results, res)
	}
	inv := sarifInvocation{ExecutionSuccessful: len(r.Errors) == 0, Notifications: []sarifNotification{}}
	for _, e := range r.Errors {
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: "error", Message: sarifText{Text: e}})
	}
	for _, s := range r.Skipped {
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: "warning", Message: sarifText{Text: s.String()}})
	}
	run.Invocations = []sarifInvocation{inv}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func sarifRuleOf(c *Check) sarifRule {
	var help strings.Builder
	help.WriteString(c.Leak)
	var helpURI string
	for _, v := range c.Vendors {
		help.WriteString("\n" + v.Vendor + ": " + v.Fix + " (" + v.Source + ")")
		if helpURI == "" {
			helpURI = v.Source
		}
	}
	return sarifRule{ID: c.ID, Name: c.ID, ShortDescription: sarifText{Text: c.Title},
		FullDescription: sarifText{Text: c.Leak}, HelpURI: helpURI, Help: sarifText{Text: help.String()},
		DefaultConfiguration: sarifLevel{Level: sarifLevels[c.Severity].level},
		Properties: map[string]any{"tags": []string{"security", "cache"}, "precision": "high",
			"security-severity": sarifLevels[c.Severity].security, "defended_by_fence": c.DefendedByFence}}
}

func sarifMessage(f Finding) string {
	what := f.Setting + " = " + f.Value
	if f.Kind == KindDrift {
		what = f.Setting + ": " + side(f.Before) + " -> " + side(f.After)
	}
	msg := f.Scope + ": " + what + ". " + f.Message
	if f.Fix != "" {
		msg += " Fix: " + f.Fix
	}
	return msg
}

// sarifURI makes a path relative and slashed, as code scanning matches it
// against the repository's files.
func sarifURI(path string) string {
	if wd, err := os.Getwd(); err == nil && filepath.IsAbs(path) {
		if rel, err := filepath.Rel(wd, path); err == nil {
			path = rel
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}
