package cli

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
)

// Caddy registers its run command itself, and RegisterCommand panics on a
// second command of the same name. Nor does changing caddycmd.Commands()
// help: Caddy builds its cobra tree from the copy of each command taken at
// registration. The tree exists once caddycmd.Main has built it, and cobra
// runs its initializers after it has chosen the command and parsed the
// flags, just before it calls the command's RunE. That is when run gets
// its pre-flight.
func init() {
	cobra.OnInitialize(func() {
		if tree != nil {
			guardRun(tree.Root())
		}
	})
}

// tree is the cobra command of one of this package's subcommands. Once
// Caddy has added it to its tree, tree.Root() is the root.
var tree *cobra.Command

// guardRun makes root's run command refuse listen addresses that another
// process listens on, before it starts anything (see checkRunListeners).
func guardRun(root *cobra.Command) {
	for _, cmd := range root.Commands() {
		if cmd.Name() != "run" {
			continue
		}
		run, preflight := cmd.RunE, caddycmd.WrapCommandFuncForCobra(checkRunListeners)
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if err := preflight(cmd, args); err != nil {
				return err
			}
			return run(cmd, args)
		}
	}
}

// checkRunListeners is run's pre-flight. It loads the config that run is
// about to load, the way run loads it, and refuses any of its listen
// addresses that another process listens on (see checkFree). A config that
// does not load is left to run, which reports it in its own words.
//
// It checks the config run starts with, not the ones it may load later
// (--watch, the admin API, SIGUSR1), nor the redirect server that Caddy's
// automatic HTTPS adds on the HTTP port.
func checkRunListeners(fl caddycmd.Flags) (int, error) {
	// run loads environment files before its config, with code of Caddy's
	// own: they may change the config and the addresses in it. And a
	// config on stdin can be read only once.
	if envfiles, _ := fl.GetStringSlice("envfile"); len(envfiles) > 0 || fl.String("config") == "-" {
		caddy.Log().Warn("not checking whether another process listens on the config's addresses",
			zap.String("reason", "--envfile or --config - is set; only run itself reads them"))
		return caddy.ExitCodeSuccess, nil
	}
	cfg, err := loadRunConfig(fl)
	var ls []listener
	if err == nil {
		ls, err = listenersOf(cfg)
	}
	if err != nil {
		return caddy.ExitCodeSuccess, nil // run reports it
	}
	if err := checkFree(ls...); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// loadRunConfig returns the config that run will load, in JSON: the
// autosaved config with --resume, if there is one, else --config adapted
// by --adapter, or the Caddyfile in the working directory.
func loadRunConfig(fl caddycmd.Flags) ([]byte, error) {
	if fl.Bool("resume") {
		cfg, err := os.ReadFile(caddy.ConfigAutosavePath)
		if !errors.Is(err, fs.ErrNotExist) {
			return cfg, err
		}
	}
	// Quietly: run loads the config again right after, and logs what
	// loading it says, adapter warnings included.
	_, logger, buffered := caddy.BufferedLog()
	defer caddy.UnbufferDefaultLogger(logger)
	defer buffered.FlushTo(zap.NewNop())
	cfg, _, _, err := caddycmd.LoadConfig(fl.String("config"), fl.String("adapter"))
	return cfg, err
}

// listenersOf returns the addresses that cfg, a Caddy config in JSON, listens
// on: those of the HTTP servers that serve HTTP/1 or HTTP/2 there (HTTP/3
// alone needs only UDP), and the admin endpoint's, unless it is disabled.
func listenersOf(cfgJSON []byte) ([]listener, error) {
	var cfg caddy.Config
	if len(cfgJSON) > 0 { // no config at all runs the admin endpoint only
		if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
			return nil, err
		}
	}
	var app caddyhttp.App
	if raw, ok := cfg.AppsRaw["http"]; ok {
		if err := json.Unmarshal(raw, &app); err != nil {
			return nil, err
		}
	}
	var ls []listener
	for _, name := range slices.Sorted(maps.Keys(app.Servers)) {
		srv := app.Servers[name]
		for i, addr := range srv.Listen {
			if !onlyHTTP3(srv, i) {
				ls = append(ls, listener{addr, "server " + name})
			}
		}
	}
	if cfg.Admin == nil || !cfg.Admin.Disabled {
		addr := caddy.DefaultAdminListen
		if cfg.Admin != nil && cfg.Admin.Listen != "" {
			addr = cfg.Admin.Listen
		}
		ls = append(ls, listener{addr, "admin endpoint"})
	}
	return ls, nil
}

// onlyHTTP3 reports whether srv serves HTTP/3 alone on its i-th listen
// address, as set for the server or for that address.
func onlyHTTP3(srv *caddyhttp.Server, i int) bool {
	protocols := srv.Protocols
	if i < len(srv.ListenProtocols) && len(srv.ListenProtocols[i]) > 0 {
		protocols = srv.ListenProtocols[i]
	}
	// None named means Caddy's default, HTTP/1.1, HTTP/2 and HTTP/3; an
	// empty name in an address's list adds the server's.
	return len(protocols) > 0 && !slices.ContainsFunc(protocols, func(p string) bool { return p != "h3" })
}
