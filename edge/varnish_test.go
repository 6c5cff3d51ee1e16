package edge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestVarnishCannotHMACTheIdentity is why there is no varnish target: in
// real Varnish (varnishtest runs varnishd on 127.0.0.1), the only HMAC VCL
// has, vmod_digest's, reads its message as a string, and a VCL string
// ends at the first NUL byte, so the identity (kind NUL value NUL ...),
// handed over through the one path from bytes to a string (vmod_blob's
// IDENTITY), is hashed as its first kind alone: a guard could not tell
// Alice from Bob. If this test fails, Varnish or the vmod can now hash
// bytes, and a varnish target may be possible.
func TestVarnishCannotHMACTheIdentity(t *testing.T) {
	varnishtest := requireTool(t, "varnishtest", "varnish varnish-vmod-digest")
	mac := func(msg string) string {
		m := hmac.New(sha256.New, []byte("k"))
		m.Write([]byte(msg))
		return "0x" + hex.EncodeToString(m.Sum(nil))
	}
	identity := "cookie\x00sid=1\x00"
	dir := t.TempDir()
	vtc := filepath.Join(dir, "nul.vtc")
	err := os.WriteFile(vtc, fmt.Appendf(nil, `varnishtest "vmod_digest's HMAC of the identity's bytes"
varnish v1 -vcl {
	import digest;
	import blob;
	backend default none;
	sub vcl_recv { return (synth(200)); }
	sub vcl_synth {
		set resp.http.bytes = blob.length(blob.decode(HEX, encoded="%[1]x"));
		set resp.http.hmac = digest.hmac_sha256("k", blob.encode(IDENTITY, blob=blob.decode(HEX, encoded="%[1]x")));
	}
} -start
client c1 {
	txreq
	rxresp
	expect resp.http.bytes == %[2]d
	expect resp.http.hmac == "%[3]s"
	expect resp.http.hmac != "%[4]s"
} -run
`, identity, len(identity), mac("cookie"), mac(identity)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(varnishtest, "-q", "-t", "60", vtc)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("varnishtest: %v (the digest vmod: apt-get install -y varnish-vmod-digest)\n%s", err, out)
	}
}
