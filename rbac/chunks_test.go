package rbac

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// readWhole is the reader readPolicy replaced: one yaml.v3 tree for the
// whole document. The tests check that both read every text alike.
func readWhole(d *decoder, data []byte, f *fileDoc) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return &PolicyError{File: d.file, Msg: "empty policy"}
		}
		return yamlError(d.file, err, 0)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &PolicyError{File: d.file, Line: extra.Line, Msg: "a policy file holds exactly one YAML document"}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return &PolicyError{File: d.file, Msg: "not a YAML document"}
	}
	d.decode(root.Content[0], reflect0(f), "")
	return nil
}

// sameReading fails when readPolicy and readWhole disagree on data: the
// decoded file, the problems found, or the syntax error.
func sameReading(t *testing.T, data []byte) {
	t.Helper()
	for _, size := range []int{1, batchSize} { // cut at every item, and as loading does
		sameReadingIn(t, data, size)
	}
}

func sameReadingIn(t *testing.T, data []byte, size int) {
	t.Helper()
	dw, dp := &decoder{file: "p.yaml"}, &decoder{file: "p.yaml"}
	var fw, fp fileDoc
	ew := readWhole(dw, data, &fw)
	ep := readPieces(dp, data, &fp, size)
	var pe *pieceError
	if errors.As(ep, &pe) {
		ep = readPolicy(&decoder{file: "p.yaml"}, data, &fileDoc{}) // words the error for the file
	}
	if ep != nil {
		ep = policyError("p.yaml", ep)
	}
	if fmt.Sprint(ew) != fmt.Sprint(ep) {
		t.Fatalf("syntax errors differ:\nwhole:  %v\npieces: %v\n%q", ew, ep, data)
	}
	if ew != nil {
		return
	}
	if fmt.Sprint(dw.joined()) != fmt.Sprint(dp.joined()) {
		t.Fatalf("problems differ:\nwhole:  %v\npieces: %v\n%q", dw.joined(), dp.joined(), data)
	}
	if !reflect.DeepEqual(fw, fp) {
		t.Fatalf("decoded files differ for %q:\nwhole:  %+v\npieces: %+v", data, fw, fp)
	}
}

// piecesCases are texts that put the cuts to the test: each must read as
// it does whole.
var piecesCases = map[string]string{
	"zero-indented lists":               "version: 1\nroles:\n- name: R\n  permissions: [p]\n- name: S\nmappings:\n- id: m\n  when: {group: G}\n  grant: {roles: [R]}\n",
	"comments between items":            "version: 1\nroles:\n  # first\n  - name: R\n# at column 0\n\n  - name: S # trailing\n    permissions:\n      - a\n      - b\n",
	"quoted scalar across a key line":   "version: 1\nroles:\n  - name: R\n    description: \"one\nmappings: two\"\n  - name: S\n",
	"quoted scalar across an item line": "roles:\n  - name: R\n    description: 'one\n  - name: two'\n  - name: S\n",
	"flow list across key lines":        "version: 1\nroles: [\n{name: R},\nmappings: x]\n",
	"flow list across item lines":       "roles:\n  - {name: R, permissions: [a,\n  - b]}\n  - name: S\n",
	"block scalar holding items":        "roles:\n  - name: R\n    description: |\n      - name: fake\n      version: 2\n  - name: S\n",
	"plain multi-line scalar":           "roles:\n  - name: R\n    description: one\n      two\n  - name: S\n",
	"document start":                    "%YAML 1.2\n---\nversion: 1\nroles:\n  - name: R\n",
	"second document":                   "version: 1\nroles:\n  - name: R\n---\nversion: 2\n",
	"second document at the end":        "version: 1\nroles:\n  - name: R\n---\n",
	"duplicate top-level key":           "version: 1\nroles:\n  - name: R\nversion: 2\nroles:\n  - name: S\n",
	"unknown top-level key":             "version: 1\nrolez:\n  - name: R\n",
	"scalar list key":                   "version:\n  - 1\n",
	"anchor on an item":                 "roles:\n  - &a {name: R}\n  - *a\n",
	"anchor on a list":                  "roles: &l\n  - name: R\n",
	"syntax error in an item":           "version: 1\nroles:\n  - name: R\n  - name: S: T\n  - name: U\n",
	"bad indentation":                   "roles:\n  - name: R\n - name: S\n",
	"root list":                         "- a\n- b\n",
	"root scalar across lines":          "hello\nworld\n",
	"empty":                             "",
	"comments only":                     "# nothing\n",
	"JSON":                              `{"version": 1, "roles": [{"name": "R"}]}`,
	"CRLF":                              "version: 1\r\nroles:\r\n  - name: R\r\n  - name: S\r\n",
	"tabs":                              "roles:\n\t- name: R\n",
	"null list":                         "roles:\nversion: 1\n",
	"tests with claims":                 "version: 1\ntests:\n  - name: t\n    claims:\n      iss: x\n      groups: [a, b]\n    expect: {allowed: true}\n  - name: u\n    claims: {iss: y}\n",
	"explicit key":                      "? version\n: 1\nroles:\n  - name: R\n",
}

func TestReadPolicyInPieces(t *testing.T) {
	for name, text := range piecesCases {
		t.Run(name, func(t *testing.T) { sameReading(t, []byte(text)) })
	}
	bank, err := os.ReadFile(bankPolicy)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bank", func(t *testing.T) { sameReading(t, bank) })
	t.Run("bench 3000", func(t *testing.T) { sameReading(t, []byte(benchYAML(3000))) })
}

func FuzzReadPolicy(f *testing.F) {
	for _, text := range piecesCases {
		f.Add([]byte(text))
	}
	f.Add([]byte(benchYAML(5)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		sameReading(t, data)
	})
}

func TestPieceTooLarge(t *testing.T) {
	big := "version: 1\nroles: [" + strings.Repeat("{name: R},", maxPiece/10) + "]\n"
	_, err := ParsePolicy([]byte(big))
	want := fmt.Sprintf("policy:2: this top-level entry or list item is %d bytes; a policy is read one entry or block-list item at a time, each at most 1048576 bytes: write long lists in block style, one \"- \" item per element", len(big)-len("version: 1\n"))
	if !errors.Is(err, ErrInvalidPolicy) || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}

// loadPeak parses data and returns the largest heap (live objects and
// garbage not yet collected) seen while it did, above what was there
// before, and what it allocated in all.
func loadPeak(tb testing.TB, data []byte) (peak, alloc uint64) {
	tb.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var max atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > max.Load() {
				max.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	p, err := ParsePolicy(data)
	close(stop)
	<-done
	runtime.ReadMemStats(&after)
	if err != nil {
		tb.Fatal(err)
	}
	runtime.KeepAlive(p)
	return max.Load() - min(base, max.Load()), after.TotalAlloc - before.TotalAlloc
}

// TestLoadMemory bounds the memory a large policy takes to load. Reading
// the whole document as one yaml.v3 tree peaked at about 42 times the
// file; read in pieces it stays near 12 times (the file structs and the
// compiled policy, which a decision needs, are most of it).
func TestLoadMemory(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("measures the heap; the race detector changes it")
	}
	data := []byte(benchYAML(20000)) // about 3 MiB
	peak, _ := loadPeak(t, data)
	ratio := float64(peak) / float64(len(data))
	t.Logf("%.1f MiB policy: peak heap %.1f MiB, %.1f times the file", float64(len(data))/(1<<20), float64(peak)/(1<<20), ratio)
	if ratio > 20 {
		t.Fatalf("peak heap %.1f times the file; want at most 20", ratio)
	}
}

// BenchmarkLoadLargePolicy loads a policy of about 15 MiB (95,000
// mappings) and reports its peak heap and allocations per byte of file.
func BenchmarkLoadLargePolicy(b *testing.B) {
	data := []byte(benchYAML(95000))
	b.SetBytes(int64(len(data)))
	var peak, alloc uint64
	for b.Loop() {
		p, a := loadPeak(b, data)
		peak, alloc = max(peak, p), alloc+a
	}
	b.ReportMetric(float64(peak)/float64(len(data)), "peak-B/file-B")
	b.ReportMetric(float64(alloc)/float64(b.N)/float64(len(data)), "alloc-B/file-B")
}
