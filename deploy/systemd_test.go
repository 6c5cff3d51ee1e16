package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const unitFile = "systemd/cachefence-sidecar.service"

// unitSettings returns the unit's settings, each key with its values in
// order, line continuations joined.
func unitSettings(t *testing.T, text string) map[string][]string {
	t.Helper()
	settings := map[string][]string{}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is no setting", unitFile, line)
		}
		settings[key] = append(settings[key], strings.TrimSpace(value))
	}
	return settings
}

// The unit is hardened as the issue asks, takes the owner-stamp key
// through LoadCredential, and runs a command line the binary accepts.
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	s := unitSettings(t, string(data))
	for key, want := range map[string]string{
		"DynamicUser":     "yes",
		"ProtectSystem":   "strict",
		"NoNewPrivileges": "yes",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	} {
		if !slices.Equal(s[key], []string{want}) {
			t.Errorf("%s=%q, want %s", key, s[key], want)
		}
	}
	if len(s["ExecStart"]) != 1 {
		t.Fatalf("ExecStart %q, want one", s["ExecStart"])
	}
	exec := strings.Fields(s["ExecStart"][0])
	keyFile := flagValue(exec, "owner-stamp-key-file")
	credential, ok := strings.CutPrefix(keyFile, "${CREDENTIALS_DIRECTORY}/")
	if !ok || !slices.ContainsFunc(s["LoadCredential"], func(v string) bool { return strings.HasPrefix(v, credential+":") }) {
		t.Errorf("--owner-stamp-key-file %q: want ${CREDENTIALS_DIRECTORY}/<id> of a LoadCredential=<id>:<path> (have %q)", keyFile, s["LoadCredential"])
	}
	accepts(t, unitFile+" ExecStart", exec[1:])
}

// systemd-analyze verify finds nothing to say about the unit: no unknown
// setting, no value it cannot parse. verify also wants the ExecStart
// binary to exist, so it checks a copy whose /usr/local/bin/cachefence is
// the binary built by the test.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (Debian package systemd; scripts/test installs it): %v", err)
	}
	data, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/cachefence"
	if !strings.Contains(string(data), "ExecStart="+installed+" ") {
		t.Fatalf("ExecStart is not %s: update this test", installed)
	}
	copied := filepath.Join(t.TempDir(), filepath.Base(unitFile))
	if err := os.WriteFile(copied, []byte(strings.Replace(string(data), "ExecStart="+installed, "ExecStart="+cachefence(t), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", copied).CombinedOutput()
	// verify exits 0 on settings it ignores with a warning, which are
	// still mistakes: any output fails. Warnings about other units of
	// this machine are not the unit's.
	var own []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !otherUnit.MatchString(line) {
			own = append(own, line)
		}
	}
	if err != nil || len(own) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}
}

// otherUnit matches verify's lines about units other than the one under
// test, e.g. a machine's own units that it loads as dependencies.
var otherUnit = regexp.MustCompile(`^/(?:usr/)?lib/systemd/|^/etc/systemd/`)
