// Command loggen writes a synthetic CDN access log for scripts/bench-logs:
// the traffic of internal/loggen, in one format, to standard output, with
// a leak every -leak-every lines if asked.
//
//	go run ./internal/loggen/cmd/loggen -format cloudfront -lines 1000000 -leak-every 3 > findings.log
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cachefence/cachefence/internal/loggen"
)

func main() {
	format := flag.String("format", "cloudfront", "log format, as cachefence logs --format names it")
	lines := flag.Int("lines", 1000000, "how many lines")
	leak := flag.Int("leak-every", 0, "make every n-th line a personal page served from cache to another user (0: none)")
	flag.Parse()
	if *lines < 0 || *leak < 0 {
		fmt.Fprintln(os.Stderr, "loggen: -lines and -leak-every must not be negative")
		os.Exit(2)
	}
	g := loggen.New()
	g.LeakEvery = *leak
	if err := g.Write(os.Stdout, *format, 0, *lines); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
}
