package idbridge_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestEverySentinelHasAClass reads the SDK's source: every exported Err…
// variable must be made by reason.New, or wrap with %w another sentinel
// (which this test checks in turn), so that idbridge.ReasonOf classifies
// every error a package declares.
func TestEverySentinelHasAClass(t *testing.T) {
	checked := 0
	forSDKFiles(t, func(path string, f *ast.File) {
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !name.IsExported() || !strings.HasPrefix(name.Name, "Err") {
						continue
					}
					checked++
					if i >= len(vs.Values) || !classified(vs.Values[i]) {
						t.Errorf("%s: %s is neither reason.New(…) nor a %%w wrap of another sentinel", path, name.Name)
					}
				}
			}
		}
	})
	if checked < 50 {
		t.Fatalf("only %d sentinels found: the walk missed the packages", checked)
	}
}

// TestOptionFunctionsThroughOneHelper reads the SDK's source: no function
// ranges over its own variadic option functions, so every constructor
// applies them through internal/option, which ignores nil ones.
func TestOptionFunctionsThroughOneHelper(t *testing.T) {
	forSDKFiles(t, func(path string, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			fd, ok := n.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				return true
			}
			params := fd.Type.Params.List
			if len(params) == 0 {
				return false
			}
			last := params[len(params)-1]
			if _, variadic := last.Type.(*ast.Ellipsis); !variadic || len(last.Names) == 0 {
				return false
			}
			name := last.Names[0].Name
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if r, ok := n.(*ast.RangeStmt); ok {
					if id, ok := r.X.(*ast.Ident); ok && id.Name == name && strings.HasSuffix(strings.ToLower(name), "fns") {
						t.Errorf("%s: %s ranges over %s itself; use option.New or option.Apply", path, fd.Name.Name, name)
					}
				}
				return true
			})
			return false
		})
	})
}

// forSDKFiles parses every non-test Go file of the SDK module. Modules
// beside it (integration, examples, bench) and internal packages, which
// callers wrap, are not read.
func forSDKFiles(t *testing.T, fn func(path string, f *ast.File)) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "integration", "examples", "bench", "internal", "testdata":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		fn(path, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// classified reports whether e is reason.New(…), fmt.Errorf with %w of a
// sentinel (an Err… name, maybe package-qualified), or the root package's
// own &sentinel{class, text}.
func classified(e ast.Expr) bool {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		lit, ok := u.X.(*ast.CompositeLit)
		return ok && lastName(lit.Type) == "sentinel" && len(lit.Elts) == 2
	}
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	switch funcName(call.Fun) {
	case "reason.New":
		return true
	case "fmt.Errorf":
		if len(call.Args) < 2 {
			return false
		}
		format, ok := call.Args[0].(*ast.BasicLit)
		if !ok || !strings.Contains(format.Value, "%w") {
			return false
		}
		for _, a := range call.Args[1:] {
			if strings.HasPrefix(lastName(a), "Err") {
				return true
			}
		}
	}
	return false
}

func funcName(e ast.Expr) string {
	if s, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := s.X.(*ast.Ident); ok {
			return x.Name + "." + s.Sel.Name
		}
	}
	return ""
}

func lastName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}
