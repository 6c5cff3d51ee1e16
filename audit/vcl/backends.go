package vcl

// Span is where a token is in VCL source: the bytes [Start, End), quotes
// included for a string.
type Span struct{ Start, End int }

// Backend is a backend declaration as written, so that a caller that
// runs the VCL elsewhere can point it at another address: the spans of
// its .host, .port and .path values (zero when absent) and the offset
// just after its opening brace, where a missing field can go.
type Backend struct {
	Name             string
	Line             int
	Open             int
	Host, Port, Path Span
}

// Backends returns the backend declarations of VCL source, in order.
// Their probes and other fields are left alone.
func Backends(src []byte) ([]Backend, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	var out []Backend
	for i := 0; i+2 < len(toks); i++ {
		if !toks[i].is("backend") || toks[i+1].kind != tIdent || !toks[i+2].is("{") {
			continue
		}
		b := Backend{Name: toks[i+1].text, Line: toks[i].line, Open: toks[i+2].end}
		depth := 0
		j := i + 2
		for ; j < len(toks); j++ {
			t := toks[j]
			switch {
			case t.is("{"):
				depth++
			case t.is("}"):
				depth--
			case depth == 1 && t.kind == tIdent && toks[j-1].is(".") && j+2 < len(toks) && toks[j+1].is("="):
				// A field: "." is punctuation, the name an identifier.
				v := toks[j+2]
				span := Span{v.off, v.end}
				switch t.text {
				case "host":
					b.Host = span
				case "port":
					b.Port = span
				case "path":
					b.Path = span
				}
			}
			if depth == 0 {
				break
			}
		}
		out = append(out, b)
		i = j
	}
	return out, nil
}
