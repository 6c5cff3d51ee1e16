package deploy

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// image is what the Dockerfile's final stage says about the image.
type image struct {
	from            string
	user            string
	entrypoint, cmd []string
	expose          []string
	copies          []string // the final stage's COPY instructions
	buildRuns       []string // the RUN instructions of earlier stages
}

// readDockerfile reads the instructions of path that the tests check.
// It knows the subset of the syntax the file uses: line continuations,
// comments, and the exec (JSON) form of ENTRYPOINT and CMD; any other
// form of those is an error, since a shell form needs a shell the image
// does not have.
func readDockerfile(t *testing.T, path string) image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var img image
	var build []string // RUNs of the stage being read
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(op) {
		case "FROM":
			img.buildRuns = append(img.buildRuns, build...)
			build = nil
			img = image{from: strings.Fields(rest)[0], buildRuns: img.buildRuns}
		case "RUN":
			build = append(build, rest)
		case "USER":
			img.user = rest
		case "COPY":
			img.copies = append(img.copies, rest)
		case "EXPOSE":
			img.expose = append(img.expose, strings.Fields(rest)...)
		case "ENTRYPOINT", "CMD":
			var args []string
			if err := json.Unmarshal([]byte(rest), &args); err != nil {
				t.Fatalf("%s %s: want the exec form, a JSON array (the image has no shell): %v", op, rest, err)
			}
			if strings.EqualFold(op, "ENTRYPOINT") {
				img.entrypoint = args
			} else {
				img.cmd = args
			}
		}
	}
	return img
}

// The image is scratch plus a static binary, run by a numeric non-root
// user; its entrypoint and default command are a command line the binary
// accepts, and it exposes the ports that command line listens on.
func TestDockerfile(t *testing.T) {
	img := readDockerfile(t, "Dockerfile")
	if img.from != "scratch" {
		t.Errorf("final stage FROM %s, want scratch: nothing but the binary", img.from)
	}
	if uid, _, _ := strings.Cut(img.user, ":"); uid == "" || uid == "0" {
		t.Errorf("USER %q, want a non-root user", img.user)
	} else if _, err := strconv.Atoi(uid); err != nil {
		t.Errorf("USER %q: want a numeric user, which runAsNonRoot can check and scratch has no /etc/passwd for", img.user)
	}
	if !slices.ContainsFunc(img.buildRuns, func(r string) bool {
		return strings.Contains(r, "CGO_ENABLED=0") && strings.Contains(r, "./cmd/cachefence")
	}) {
		t.Errorf("no build stage RUN builds ./cmd/cachefence with CGO_ENABLED=0 (a static binary, for scratch): %q", img.buildRuns)
	}
	if len(img.entrypoint) < 2 || img.entrypoint[1] != "sidecar" {
		t.Fatalf("ENTRYPOINT %q, want the binary and sidecar", img.entrypoint)
	}
	if !slices.ContainsFunc(img.copies, func(c string) bool { return strings.HasSuffix(c, " "+img.entrypoint[0]) }) {
		t.Errorf("the final stage copies nothing to %s, the entrypoint: %q", img.entrypoint[0], img.copies)
	}
	args := append(slices.Clone(img.entrypoint[1:]), img.cmd...)
	accepts(t, "Dockerfile ENTRYPOINT and CMD", args)
	for _, flag := range []string{"from", "metrics"} {
		addr := flagValue(args, flag)
		if addr == "" {
			t.Errorf("the entrypoint sets no --%s", flag)
			continue
		}
		if p := port(t, addr); !slices.Contains(img.expose, p) {
			t.Errorf("--%s %s: port %s not in EXPOSE %q", flag, addr, p, img.expose)
		}
	}
}
