package cachefence_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/cachefence/cachefence/caddymodule"
)

// docBlock is a fenced code block of a Markdown file.
type docBlock struct {
	where string // file:line of the opening fence
	lang  string
	text  string
}

// docBlocks returns the fenced code blocks of the README and of docs/.
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	for _, name := range append([]string{"README.md"}, files...) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		var cur *docBlock
		var indent string
		for n := 1; sc.Scan(); n++ {
			// Blocks may be indented, inside a list item; their lines lose
			// the fence's indentation.
			line := sc.Text()
			fence := strings.TrimLeft(line, " \t")
			switch {
			case cur == nil && strings.HasPrefix(fence, "```"):
				cur = &docBlock{where: fmt.Sprintf("%s:%d", name, n), lang: strings.TrimPrefix(fence, "```")}
				indent = line[:len(line)-len(fence)]
			case cur != nil && fence == "```":
				blocks = append(blocks, *cur)
				cur = nil
			case cur != nil:
				cur.text += strings.TrimPrefix(line, indent) + "\n"
			}
		}
		if cur != nil {
			t.Fatalf("%s: unterminated code block", cur.where)
		}
	}
	return blocks
}

// TestDocumentedCaddyfiles adapts and validates (provisions, without
// starting anything) every Caddyfile of the README and docs/, and
// Caddyfile.example, and checks every cache_fence JSON handler there, so
// that the documentation and the parser cannot drift apart.
func TestDocumentedCaddyfiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	// The examples take the owner-stamp key from the environment.
	t.Setenv("CACHE_FENCE_KEY", "an example key of 32 bytes......")

	example, err := os.ReadFile("Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	blocks := append(docBlocks(t), docBlock{where: "Caddyfile.example", lang: "caddy", text: string(example)})
	var caddyfiles, handlers int
	for _, b := range blocks {
		switch {
		case b.lang == "caddy":
			caddyfiles++
			if err := validateCaddyfile(b.text); err != nil {
				t.Errorf("%s: %v\n%s", b.where, err, b.text)
			}
		case b.lang == "json" && strings.Contains(b.text, `"handler": "cache_fence"`):
			handlers++
			if err := validateHandlerJSON(b.text); err != nil {
				t.Errorf("%s: %v", b.where, err)
			}
		}
	}
	// The README alone has five Caddyfiles and a JSON handler; a parser
	// that finds fewer has lost them.
	if caddyfiles < 6 || handlers < 1 {
		t.Errorf("found %d Caddyfiles and %d JSON handlers, want at least 6 and 1", caddyfiles, handlers)
	}
}

func validateCaddyfile(text string) error {
	cfgJSON, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(text), nil)
	if err != nil {
		return fmt.Errorf("the Caddyfile does not adapt: %w", err)
	}
	if len(warnings) > 0 {
		return fmt.Errorf("adapting the Caddyfile warns: %v", warnings)
	}
	var cfg caddy.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return err
	}
	if err := caddy.Validate(&cfg); err != nil {
		return fmt.Errorf("the config does not validate: %w", err)
	}
	return nil
}

// validateHandlerJSON decodes a documented handler object strictly and
// validates it.
func validateHandlerJSON(text string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &fields); err != nil {
		return fmt.Errorf("the JSON does not parse: %w", err)
	}
	delete(fields, "handler")
	rest, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	var h caddymodule.Handler
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("the JSON handler does not decode: %w", err)
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("the JSON handler does not validate: %w", err)
	}
	return nil
}

// The check must fail on what it is meant to catch.
func TestDocumentedCaddyfilesCatchDrift(t *testing.T) {
	for _, bad := range []string{
		"example.com {\n\tcache_fence {\n\t\tfence_everything\n\t}\n}\n",
		"example.com {\n\tcache_fence {\n\t\tprivate_paths account\n\t}\n}\n",
		"{\n\torder cache_fence before respond\n}\nexample.com {\n\tcache_fence\n\trespond hi\n}\n",
	} {
		if err := validateCaddyfile(bad); err == nil {
			t.Errorf("validateCaddyfile accepted:\n%s", bad)
		}
	}
	if err := validateHandlerJSON(`{"handler": "cache_fence", "private_path": ["/a"]}`); err == nil {
		t.Error("validateHandlerJSON accepted a misspelt field")
	}
}
