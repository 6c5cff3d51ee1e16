package nginx

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cachefence/cachefence/audit"
)

// A *_by_lua_block's body is Lua: its braces count only outside strings
// and comments, as OpenResty's lexer reads it. The block is skipped, said
// with its directive and line, and the rest of the file is audited.
func TestLuaBlocks(t *testing.T) {
	for name, lua := range map[string]string{
		"plain":             "ngx.say('hi')",
		"nested tables":     "local t = { a = { b = 1 } }",
		"strings":           `local s = "}" .. '}' .. "\"}" .. '\'}'`,
		"comments":          "-- }\nlocal x = 1 -- }}",
		"long strings":      "local s = [[ } ]] .. [==[ ]] } ]=] ]==]",
		"long comments":     "--[[ } ]] --[=[ }\n } ]=]",
		"an index, no long": "local a = t[ [[k]] ]",
	} {
		t.Run(name, func(t *testing.T) {
			conf := "http {\n  server {\n    location / {\n      access_by_lua_block {\n        " + lua + "\n      }\n      proxy_pass http://app;\n      proxy_cache one;\n    }\n  }\n}\n"
			cfg := readConf(t, map[string]string{"nginx.conf": conf}, "nginx.conf")
			if len(cfg.Errors) > 0 {
				t.Fatalf("errors %v", cfg.Errors)
			}
			line := "nginx.conf:" + itoa(8+strings.Count(lua, "\n"))
			if got := ids(cfg); !slices.Equal(got, []string{"caches_authorization@" + line, "cookies_not_in_key@" + line}) {
				t.Errorf("findings %v: the location was not audited whole", got)
			}
			if len(cfg.Skipped) != 1 || cfg.Skipped[0].Line != 4 || !strings.HasPrefix(cfg.Skipped[0].What, "access_by_lua_block:") {
				t.Errorf("skipped %v", cfg.Skipped)
			}
		})
	}
	for lua, want := range map[string]string{
		"local s = '}":       "line 2: a Lua block is not closed",
		"local s = [[ } ":    "line 2: a Lua block is not closed",
		"--[==[ } ]=] }":     "line 2: a Lua block is not closed",
		"if x then { } end ": "line 2: a Lua block is not closed",
	} {
		if _, err := Parse("x.conf", []byte("server {\n  content_by_lua_block {\n"+lua+"\n")); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", lua, err, want)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Reading a configuration allocates memory in proportion to its size,
// whatever its shape: a 50 MB file once took 5.7 GB, as every location
// copied every directive name around it. Each shape is read at two sizes,
// and twice the input must cost about twice the memory; the parser's own
// allocation per byte read is bounded too. The bounds are on bytes
// allocated, never on time. (Read's total per byte is not bounded here:
// under -race, sync.Pool keeps nothing, and each regexp match allocates.)
func TestMemoryIsLinear(t *testing.T) {
	site := "server {\n  server_name a.example;\n  location /x {\n    proxy_pass http://app;\n    proxy_cache one;\n    proxy_set_header Host $host;\n  }\n}\n"
	for _, tc := range []struct {
		name string
		// conf returns the configuration at scale k.
		conf func(k int) string
		// parse bounds Parse's bytes allocated per byte read.
		parse float64
	}{
		{"sites", func(k int) string { return strings.Repeat(site, k*3000) }, 10},
		{"tiny directives", func(k int) string { return strings.Repeat("a;", k*100000) }, 80},
		{"locations under many names", func(k int) string {
			var b strings.Builder
			b.WriteString("server {\n")
			for i := range k * 8000 {
				b.WriteString("d" + itoa(i) + " x;\n")
			}
			b.WriteString(strings.Repeat("location / { proxy_pass http://app; proxy_cache one; }\n", k*8000))
			b.WriteString("}\n")
			return b.String()
		}, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var read [2]uint64
			for i, k := range []int{1, 2} {
				data := []byte(tc.conf(k))
				var cfg *audit.Config
				read[i] = allocated(func() { cfg = Read([]audit.File{{Path: "/x/site.conf", Data: data}}) })
				if len(cfg.Errors) > 0 || len(cfg.Settings) == 0 {
					t.Fatalf("errors %v, %d settings", cfg.Errors, len(cfg.Settings))
				}
				if n := allocated(func() { _, _ = Parse("/x/site.conf", data) }); float64(n)/float64(len(data)) > tc.parse {
					t.Errorf("Parse allocated %d bytes for %d: over %.0f a byte", n, len(data), tc.parse)
				}
			}
			if ratio := float64(read[1]) / float64(read[0]); ratio > 2.3 {
				t.Errorf("twice the input allocated %.2f times the memory (%d, %d bytes)", ratio, read[0], read[1])
			}
		})
	}
}

// A file over MaxFileSize, or with more than MaxDirectives, is refused
// before it costs more than itself.
func TestLimits(t *testing.T) {
	big := bytes.Repeat([]byte("# padding\n"), MaxFileSize/10+1)
	var cfg *audit.Config
	if n := allocated(func() { cfg = Read([]audit.File{{Path: "/x/big.conf", Data: big}}) }); n > 1<<20 {
		t.Errorf("%d bytes allocated to refuse a file over the limit", n)
	}
	if len(cfg.Errors) != 1 || !strings.Contains(cfg.Errors[0].Error(), "larger than the 16 MiB") {
		t.Errorf("errors %v", cfg.Errors)
	}
	if _, err := Parse("x.conf", bytes.Repeat([]byte(";a;"), MaxDirectives+1)); err == nil || !strings.Contains(err.Error(), "more than 1048576 directives") {
		t.Errorf("Parse of too many directives: %v", err)
	}
}

// Includes that pull each other in many times (each file includes the
// next level's glob eight times, ten levels deep: 8^10 copies) expand to
// at most MaxDirectives, each file is read once, and what was left out
// is said.
func TestIncludeFanOut(t *testing.T) {
	files := map[string]string{"nginx.conf": "http {\n" + strings.Repeat("include l0/*.conf;\n", 8) + "}\n"}
	for level := range 10 {
		next := strings.Repeat("include l"+itoa(level+1)+"/*.conf;\n", 8)
		for i := range 2 {
			files[filepath.Join("l"+itoa(level), itoa(i)+".conf")] = "proxy_buffering on;\n" + next
		}
	}
	files["l10/leaf.conf"] = strings.Repeat("proxy_set_header X-A b;\n", 100)
	var cfg *audit.Config
	n := allocated(func() { cfg = readConf(t, files, "nginx.conf") })
	if len(cfg.Errors) > 0 {
		t.Fatalf("errors %v", cfg.Errors)
	}
	if len(cfg.Settings) > MaxDirectives+200 {
		t.Errorf("%d settings: the expansion passed MaxDirectives", len(cfg.Settings))
	}
	if n > 1<<30 {
		t.Errorf("%d bytes allocated", n)
	}
	if !slices.ContainsFunc(cfg.Skipped, func(s audit.Skip) bool { return strings.Contains(s.What, "expands to more than") }) {
		t.Errorf("no skip says the expansion was cut: %d skips", len(cfg.Skipped))
	}
}

// An include of a file larger than what is left of the byte budget is
// not read.
func TestIncludeBytes(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	big := bytes.Repeat([]byte("# padding line\n"), 15<<20/15)
	var includes []string
	for i := range 5 {
		name := "big" + itoa(i) + ".conf"
		includes = append(includes, "include "+name+";")
		if err := os.WriteFile(filepath.Join(dir, name), big, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data := []byte(strings.Join(includes, "\n"))
	cfg := Read([]audit.File{{Path: conf, Data: data}})
	if len(cfg.Skipped) != 1 || !strings.Contains(cfg.Skipped[0].What, "big4.conf: includes read more than 64 MiB") {
		t.Errorf("skipped %v", cfg.Skipped)
	}
}
