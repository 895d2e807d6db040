package idbridge_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
)

// schemaConstants returns the values of the constants in audit.go whose
// names start with prefix.
func schemaConstants(t *testing.T, prefix string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					out[n.Name] = v
				}
			}
		}
	}
	return out
}

// TestAuditSchemaDocumented: AUDIT.md has a section for every published
// event and names every published field, and every field of the golden
// events is a published one, so the doc, the constants and the JSON agree.
func TestAuditSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("AUDIT.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, _ := os.ReadFile("README.md")
	if !bytes.Contains(readme, []byte("AUDIT.md")) {
		t.Error("README.md does not link AUDIT.md")
	}
	events := schemaConstants(t, "Event")
	if len(events) < 10 {
		t.Fatalf("only %d events parsed", len(events))
	}
	var headings []string
	for line := range strings.Lines(string(doc)) {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings = append(headings, strings.Split(strings.TrimSpace(h), " / ")...)
		}
	}
	for name, v := range events {
		if !slices.Contains(headings, v) {
			t.Errorf("AUDIT.md has no section for %s (%s)", v, name)
		}
		if _, err := os.Stat(filepath.Join("internal", "audit", "testdata", v+".golden")); err != nil {
			t.Errorf("no golden JSON for %s", v)
		}
	}
	fields := schemaConstants(t, "Field")
	published := map[string]bool{"time": true, "level": true, "msg": true}
	for name, v := range fields {
		published[v] = true
		if !bytes.Contains(doc, []byte("`"+v+"`")) {
			t.Errorf("AUDIT.md does not name field %s (%s)", v, name)
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("internal", "audit", "testdata", "*.golden"))
	for _, g := range goldens {
		raw, _ := os.ReadFile(g)
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		for k := range ev {
			if !published[k] {
				t.Errorf("%s: field %q is not a published idbridge.Field constant", filepath.Base(g), k)
			}
		}
	}
}

func TestSampleAudit(t *testing.T) {
	var buf bytes.Buffer
	h := idbridge.SampleAudit(slog.NewJSONHandler(&buf, nil), 10)
	l := slog.New(h)
	for range 100 {
		l.Info(idbridge.EventTokenValidated, idbridge.FieldEvent, idbridge.EventTokenValidated)
	}
	for range 3 {
		l.Warn(idbridge.EventTokenRejected, idbridge.FieldEvent, idbridge.EventTokenRejected)
		l.Info(idbridge.EventSTSAssumed, idbridge.FieldEvent, idbridge.EventSTSAssumed)
	}
	out := buf.String()
	if n := strings.Count(out, `"event":"token.validated"`); n != 10 {
		t.Errorf("%d of 100 successes written, want 10", n)
	}
	if n := strings.Count(out, `"sampled":10`); n != 10 {
		t.Errorf("%d sampled markers, want 10", n)
	}
	if strings.Count(out, "token.rejected") != 6 || strings.Count(out, "sts.assumed") != 6 {
		t.Errorf("a failure or another event was dropped:\n%s", out)
	}
	if idbridge.SampleAudit(nil, 10) != nil {
		t.Error("a nil handler must stay nil (audit off)")
	}
}
