// Command sim serves a Fastly VCL through falco's interpreter, as `falco
// simulate --proxy` does (the same interpreter, its cache and its restart),
// but on 127.0.0.1 only: falco simulate listens on every interface. It
// prints the address it listens on, then serves until killed.
//
// The edge package's tests build it, and falco's own command, from this
// module, so that falco stays out of cachefence's go.mod.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/ysugimoto/falco/interpreter"
	icontext "github.com/ysugimoto/falco/interpreter/context"
	"github.com/ysugimoto/falco/resolver"
)

func main() {
	include := flag.String("I", ".", "include path")
	flag.Parse()
	resolvers, err := resolver.NewFileResolvers(flag.Arg(0), []string{*include})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	i := interpreter.New(icontext.WithResolver(resolvers[0]), icontext.WithActualResponse(true))
	log.Fatal(http.Serve(ln, i))
}
