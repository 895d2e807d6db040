package rbac

import (
	"strings"
	"testing"
	"time"
)

func TestHasUpper8(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			b := []byte("abcdef01")
			b[pos] = byte(c)
			got := hasUpper8(le64(string(b)))
			if 'A' <= c && c <= 'Z' && !got {
				t.Fatalf("byte %#x at %d: upper case missed", c, pos)
			}
			if c < 0x80 && !('A' <= c && c <= 'Z') && got {
				t.Fatalf("byte %#x at %d: reported upper case", c, pos)
			}
		}
	}
}

func TestLookupLower(t *testing.T) {
	const g = "4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"
	m := map[string]uint32{g: 7}
	for i := 0; i < len(g); i++ {
		b := []byte(g)
		if b[i] < 'a' || b[i] > 'f' {
			continue
		}
		b[i] -= 'a' - 'A'
		if a, ok := lookupLower(m, string(b)); !ok || a != 7 {
			t.Errorf("%s not found", b)
		}
	}
	for _, s := range []string{g, strings.ToUpper(g) + "0", strings.ToUpper(g[1:]), "", strings.ToUpper("5f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13")} {
		if _, ok := lookupLower(m, s); ok {
			t.Errorf("%q found", s)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 30 * time.Minute: "30m", 90 * time.Minute: "1h30m", 12 * time.Hour: "12h", 15*time.Minute + 30*time.Second: "15m30s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
