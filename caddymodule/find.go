package caddymodule

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Found is a cache_fence handler in a Caddy JSON config, with the hosts
// that the routes around it match (none: every host).
type Found struct {
	Hosts   []string
	Handler *Handler
}

// FindHandlers returns every cache_fence handler of a Caddy JSON config
// (as the Caddyfile adapter writes it), in the config's order, so that
// other tools can work from the fence's own configuration.
func FindHandlers(config []byte) ([]Found, error) {
	var root any
	if err := json.Unmarshal(config, &root); err != nil {
		return nil, fmt.Errorf("reading the Caddy config: %w", err)
	}
	var found []Found
	var walk func(v any, hosts []string) error
	walk = func(v any, hosts []string) error {
		switch v := v.(type) {
		case map[string]any:
			if v["handler"] == "cache_fence" {
				b, _ := json.Marshal(v)
				h := new(Handler)
				if err := json.Unmarshal(b, h); err != nil {
					return fmt.Errorf("a cache_fence handler: %w", err)
				}
				found = append(found, Found{Hosts: hosts, Handler: h})
				return nil
			}
			if matches, ok := v["match"].([]any); ok {
				hosts = slices.Clone(hosts)
				for _, m := range matches {
					if m, ok := m.(map[string]any); ok {
						for _, h := range asStrings(m["host"]) {
							hosts = append(hosts, h)
						}
					}
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			// Servers and apps are maps: walk them in a fixed order.
			slices.Sort(keys)
			for _, k := range keys {
				if err := walk(v[k], hosts); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := walk(e, hosts); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return found, walk(root, nil)
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
