// Command logsgen writes a synthetic CDN access log for bench/logs: the
// traffic of internal/loggen, in one format, to standard output.
//
//	go run ./bench/logsgen -format nginx -lines 1000000 > access.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/cachefence/cachefence/internal/loggen"
)

func main() {
	format := flag.String("format", "nginx", "log format, as cachefence logs --format names it")
	lines := flag.Int("lines", 1000000, "how many lines")
	from := flag.Int("from", 0, "the first line's number in the traffic, to go on from an earlier run")
	header := flag.Bool("header", true, "write the format's header (CloudFront's directives)")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	if *header {
		if err := loggen.Header(w, *format); err != nil {
			fail(err)
		}
	}
	g := loggen.New()
	var line []byte
	for i := *from; i < *from+*lines; i++ {
		line = g.Line(line[:0], *format, i)
		if _, err := w.Write(line); err != nil {
			fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "logsgen:", err)
	os.Exit(1)
}
