package enroll

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestTokenAndFingerprint(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if a == b || !strings.HasPrefix(a, TokenPrefix) || len(a) != len(TokenPrefix)+43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	h := HashToken(a)
	if !TokenMatches(a, h) || TokenMatches(b, h) || TokenMatches(a, "") {
		t.Fatal("token hash comparison")
	}
	for _, in := range []string{"sha256:AB:cd:EF", " SHA256:abcdef ", "abcdef"} {
		if got := NormalizeFingerprint(in); got != "abcdef" {
			t.Errorf("NormalizeFingerprint(%q) = %q", in, got)
		}
	}
}

func TestMessageRoundTripAndLimit(t *testing.T) {
	var buf bytes.Buffer
	in := Request{Agent: "edge", Token: "ope_x", CSR: []byte{1, 2, 3}}
	if err := WriteMessage(&buf, in); err != nil {
		t.Fatal(err)
	}
	var out Request
	if err := ReadMessage(&buf, &out); err != nil || out.Agent != "edge" || !bytes.Equal(out.CSR, in.CSR) {
		t.Fatalf("round trip %+v %v", out, err)
	}
	huge := binary.BigEndian.AppendUint32(nil, MaxMessage+1)
	if err := ReadMessage(bytes.NewReader(huge), &out); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized message: %v", err)
	}
}

// FuzzReadMessage feeds the collector's enrollment request reader (the
// one decoder an unauthenticated peer reaches) arbitrary bytes.
func FuzzReadMessage(f *testing.F) {
	var buf bytes.Buffer
	WriteMessage(&buf, Request{Agent: "edge", Token: "ope_abc", CSR: []byte("csr")})
	f.Add(buf.Bytes())
	f.Add(binary.BigEndian.AppendUint32(nil, 0xffffffff))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 2), '{', '}'))
	f.Add(append(binary.BigEndian.AppendUint32(nil, 5), []byte(`{"a":`)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req Request
		if err := ReadMessage(bytes.NewReader(data), &req); err != nil {
			return
		}
		if len(data) < 4 || int(binary.BigEndian.Uint32(data)) > MaxMessage {
			t.Fatal("accepted a message over the limit")
		}
	})
}
