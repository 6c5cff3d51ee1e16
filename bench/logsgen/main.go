// Command logsgen writes a synthetic CDN access log for bench/logs and
// scripts/bench-logs: the traffic of internal/loggen, in one format, to
// standard output, with a leak every -leak-every lines if asked.
//
//	go run ./bench/logsgen -format nginx -lines 1000000 > access.log
//	go run ./bench/logsgen -format cloudfront -lines 1000000 -leak-every 3 > findings.log
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cachefence/cachefence/internal/loggen"
)

func main() {
	format := flag.String("format", "nginx", "log format, as cachefence logs --format names it")
	lines := flag.Int("lines", 1000000, "how many lines")
	from := flag.Int("from", 0, "the first line's number in the traffic, to go on from an earlier run (no header then)")
	leak := flag.Int("leak-every", 0, "make every n-th line a personal page served from cache to another user (0: none)")
	flag.Parse()
	if *lines < 0 || *from < 0 || *leak < 0 {
		fmt.Fprintln(os.Stderr, "logsgen: -lines, -from and -leak-every must not be negative")
		os.Exit(2)
	}
	g := loggen.New()
	g.LeakEvery = *leak
	if err := g.Write(os.Stdout, *format, *from, *lines); err != nil {
		fmt.Fprintln(os.Stderr, "logsgen:", err)
		os.Exit(1)
	}
}
