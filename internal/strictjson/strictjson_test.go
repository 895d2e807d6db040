package strictjson

import (
	"fmt"
	"strings"
	"testing"
)

func TestJSONReaderStrings(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"plain"`, "plain", true},
		{`"caf\u00e9"`, "café", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\ud83d"`, "\uFFFD", true}, // lone surrogate, as encoding/json does
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", true},
		{`"é"`, "é", true},
		{"\"\xff\"", "", false},
		{"\"a\x01\"", "", false},
		{`"\x"`, "", false},
		{`"\u12"`, "", false},
		{`"\u12g4"`, "", false},
		{`"open`, "", false},
		{`open"`, "", false},
	}
	for _, tt := range tests {
		d := New(tt.in)
		got, ok := d.Str()
		if ok != tt.ok || got != tt.want {
			t.Errorf("str(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestJSONReaderSkip(t *testing.T) {
	valid := []string{`0`, `-1.5e+10`, `true`, `false`, `null`, `[]`, `{}`, `[1,"a",{"b":[null]}]`, ` { "a" : 1 } `}
	invalid := []string{``, `01`, `1.`, `.5`, `1e`, `-`, `tru`, `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`, `[`, `nul`, `+1`}
	for _, s := range valid {
		d := New(s)
		if !d.Skip() {
			t.Errorf("skip(%q) failed", s)
		}
	}
	for _, s := range invalid {
		d := New(s)
		if d.Skip() && d.i == len(s) {
			t.Errorf("skip(%q) accepted", s)
		}
	}
	d := New(strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1))
	if d.Skip() {
		t.Error("nesting beyond the limit accepted")
	}
}

func TestNameSet(t *testing.T) {
	var s NameSet
	for i := 0; i < 100; i++ {
		if !s.Add(fmt.Sprint("n", i)) {
			t.Fatalf("fresh name n%d reported as duplicate", i)
		}
	}
	for _, i := range []int{0, 15, 16, 17, 99} {
		if s.Add(fmt.Sprint("n", i)) {
			t.Fatalf("duplicate n%d not detected", i)
		}
	}
}
