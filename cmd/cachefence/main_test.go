package main

import (
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-23T10:41:10Z"}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "bc77522a1b2c3d4e5f60718293a4b5c6d7e8f901"
	for _, tc := range []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"a release", "v0.3.0", nil, "v0.3.0"},
		{"a commit", "v0.0.0-20261123104110-bc77522a1b2c", vcs(rev, "false"), "v0.0.0-20261123104110-bc77522a1b2c"},
		{"a commit with local changes", "v0.3.1-0.20261123104110-bc77522a1b2c+dirty", vcs(rev, "true"), "v0.3.1-0.20261123104110-bc77522a1b2c+dirty"},
		{"a commit but no version", "(devel)", vcs(rev, "false"), "(devel) bc77522a1b2c"},
		{"a commit with local changes but no version", "(devel)", vcs(rev, "true"), "(devel) bc77522a1b2c+dirty"},
		{"a short revision", "(devel)", vcs("bc77522", "false"), "(devel) bc77522"},
		{"nothing recorded", "(devel)", nil, "(devel)"},
		{"no version at all", "", nil, "(devel)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/cachefence/cachefence", Version: tc.version}, Settings: tc.settings}
			if got := versionOf(bi); got != tc.want {
				t.Errorf("versionOf = %q, want %q", got, tc.want)
			}
		})
	}
}

// version, --version and -v name cachefence's version, as recorded in the
// binary, and Caddy's.
func TestVersionCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cachefence")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	_, caddyVersion := caddy.Version() // this test's, built from the same go.mod
	want := "cachefence " + versionOf(bi) + " · Caddy " + caddyVersion + "\n"
	for _, arg := range []string{"version", "--version", "-v"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("cachefence %s: %v\n%q\nwant %q", arg, err, out, want)
		}
	}
}
