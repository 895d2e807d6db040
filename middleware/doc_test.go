package middleware_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// snippetPrelude declares what the package documentation's snippets take
// from their surroundings, as a reader's program would have it.
const snippetPrelude = `package docsnippets

import (
	"fmt"
	"net/http"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/middleware"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/token"
)

var (
	validator *jwks.Validator
	policy    *rbac.Policy
	mux       = http.NewServeMux()
	cache     *token.Cache
	me        func(http.ResponseWriter, *http.Request)
	target    string
	_         = fmt.Sprint
)
`

// Every Go snippet in the package's doc comments compiles as written: each
// becomes the body of a function (its func declarations go to the top
// level) in a package the go command builds through an overlay, so nothing
// is written into the module.
func TestDocSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var src strings.Builder
	src.WriteString(snippetPrelude)
	n := 0
	for _, f := range files {
		for _, cg := range f.Comments {
			var p comment.Parser
			for _, b := range p.Parse(cg.Text()).Content {
				code, ok := b.(*comment.Code)
				if !ok {
					continue
				}
				body, decls, isGo := splitSnippet(code.Text)
				if !isGo {
					if strings.Contains(code.Text, "middleware.") {
						t.Errorf("%s: a snippet using the package is not Go:\n%s", fset.Position(cg.Pos()), code.Text)
					}
					continue
				}
				n++
				fmt.Fprintf(&src, "\n// %s\nfunc snippet%d() error {\n%s\n%s\treturn nil\n}\n%s\n",
					filepath.Base(fset.Position(cg.Pos()).String()), n, body, uses(body), decls)
			}
		}
	}
	if n == 0 {
		t.Fatal("no snippets found")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "snippets.go")
	if err := os.WriteFile(file, []byte(src.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join("internal", "docsnippets", "snippets.go"))
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: file}})
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", os.DevNull, "./internal/docsnippets")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("doc snippets do not compile: %v\n%s\n--- generated source ---\n%s", err, out, src.String())
	}
}

// splitSnippet separates a snippet's statements from the func
// declarations that follow them, and reports whether it is Go at all.
func splitSnippet(text string) (body, decls string, isGo bool) {
	body = text
	if i := strings.Index(text, "\nfunc "); i >= 0 {
		body, decls = text[:i], text[i+1:]
	} else if strings.HasPrefix(text, "func ") {
		body, decls = "", text
	}
	_, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() error {\n"+body+"\nreturn nil\n}\n"+decls, 0)
	return body, decls, err == nil
}

// uses returns "_ = name" for each variable the statements declare, so that
// a snippet that shows a value without using it still compiles.
func uses(body string) string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+body+"\n}\n", 0)
	if err != nil {
		return ""
	}
	var b strings.Builder
	fn := f.Decls[0].(*ast.FuncDecl)
	for _, st := range fn.Body.List { // top-level statements only: nested ones are in their own scope
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					fmt.Fprintf(&b, "\t_ = %s\n", id.Name)
				}
			}
		}
	}
	return b.String()
}
