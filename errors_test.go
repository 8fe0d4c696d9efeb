package cmr_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmr-idp/cmr"
)

// TestEveryErrorHasDutch walks the module's source: every error the system
// makes for its users (Errorf, FieldErrorf, an Error literal with a
// Message) must also say it in Dutch, because the web pages are Dutch.
func TestEveryErrorHasDutch(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "node_modules", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		inCmr := f.Name.Name == "cmr"
		isErrorType := func(x ast.Expr) bool {
			switch x := x.(type) {
			case *ast.Ident:
				return inCmr && x.Name == "Error"
			case *ast.SelectorExpr:
				id, ok := x.X.(*ast.Ident)
				return ok && id.Name == "cmr" && x.Sel.Name == "Error"
			}
			return false
		}
		isMaker := func(fun ast.Expr) bool {
			switch fun := fun.(type) {
			case *ast.Ident:
				return inCmr && (fun.Name == "Errorf" || fun.Name == "FieldErrorf")
			case *ast.SelectorExpr:
				id, ok := fun.X.(*ast.Ident)
				return ok && id.Name == "cmr" && (fun.Sel.Name == "Errorf" || fun.Sel.Name == "FieldErrorf")
			}
			return false
		}
		withDutch := map[ast.Node]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "NL" {
				withDutch[sel.X] = true
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				// The constructors themselves build the literal.
				return !(inCmr && n.Recv == nil && (n.Name.Name == "Errorf" || n.Name.Name == "FieldErrorf"))
			case *ast.CallExpr:
				if isMaker(n.Fun) && !withDutch[n] {
					t.Errorf("%s: error without Dutch: add .NL(...)", fset.Position(n.Pos()))
				}
			case *ast.CompositeLit:
				if !isErrorType(n.Type) {
					return true
				}
				keys := map[string]bool{}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok {
							keys[id.Name] = true
						}
					}
				}
				if keys["Message"] && !keys["MessageNL"] && !withDutch[n] {
					t.Errorf("%s: Error literal without MessageNL", fset.Position(n.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 40 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", checked)
	}
}

func TestErrorText(t *testing.T) {
	e := cmr.FieldErrorf("note", "is longer than %d characters", 2000).NL("is langer dan %d tekens", 2000)
	if got := e.Text("nl"); got != "is langer dan 2000 tekens" {
		t.Errorf("nl: %q", got)
	}
	if got := e.Text("en"); got != "is longer than 2000 characters" {
		t.Errorf("en: %q", got)
	}
	if got := cmr.Errorf(cmr.KindConflict, "only English").Text("nl"); got != "only English" {
		t.Errorf("fallback: %q", got)
	}
}

func TestRecorded(t *testing.T) {
	cause := cmr.Errorf(cmr.KindUnavailable, "the database is not reachable; try again shortly").NL("de database is even niet bereikbaar")
	err := cmr.Recorded("C-1", fmt.Errorf("complete step: %w", cause))
	var e *cmr.Error
	if !errors.As(err, &e) || e.Kind != cmr.KindUnavailable || e.Details["recorded"] != true || e.Details["case_id"] != "C-1" {
		t.Fatalf("Recorded: %#v", e)
	}
	if !strings.Contains(e.Message, "recorded") || !strings.Contains(e.Message, "do not send it again") || !strings.Contains(e.MessageNL, "vastgelegd") || !cmr.IsRecorded(err) {
		t.Errorf("message: %q / %q", e.Message, e.MessageNL)
	}
	if !errors.Is(err, cause) {
		t.Errorf("the cause is lost: %v", err)
	}
	var e2 *cmr.Error
	if e := cmr.Recorded("", cause); cmr.KindOf(e) != cmr.KindUnavailable {
		t.Errorf("no case: %v", e)
	} else if errors.As(e, &e2) && e2.Details["case_id"] != nil {
		t.Errorf("no case, yet case_id: %v", e2.Details)
	}
	// Whatever failed after the action was carried out, it is recorded;
	// the cause stays for the log.
	for _, other := range []error{errors.New("sql: statement is closed"), cmr.Errorf(cmr.KindConflict, "database is locked")} {
		if got := cmr.Recorded("C-1", other); !cmr.IsRecorded(got) || cmr.KindOf(got) != cmr.KindUnavailable || !errors.Is(got, other) {
			t.Errorf("Recorded(%v) = %v, want it recorded", other, got)
		}
	}
	if cmr.Recorded("C-1", nil) != nil || cmr.IsRecorded(cause) {
		t.Error("nil recorded, or a plain outage taken for recorded")
	}
}

// TestTogether: refusals of independent inputs become one answer naming
// each; anything but invalid input stands alone.
func TestTogether(t *testing.T) {
	a := cmr.FieldErrorf("school", "is required").NL("is verplicht")
	b := cmr.FieldErrorf("switch_on", "must be a date").NL("moet een datum zijn")
	c := cmr.FieldErrorf("to.idp", "is unknown")
	if cmr.Together(nil, nil) != nil {
		t.Error("no errors is an error")
	}
	if got := cmr.Together(nil, a); got != a {
		t.Errorf("one error: %v", got)
	}
	got := cmr.Together(a, nil, cmr.Together(b, c))
	var e *cmr.Error
	if !errors.As(got, &e) || e.Kind != cmr.KindInvalid || e.Field != "school" {
		t.Fatalf("joined: %#v", got)
	}
	if want := "school: is required; switch_on: must be a date; to.idp: is unknown"; e.Error() != want {
		t.Errorf("message %q, want %q", e.Error(), want)
	}
	if want := "is verplicht; switch_on: moet een datum zijn; to.idp: is unknown"; e.Text("nl") != want {
		t.Errorf("Dutch %q, want %q", e.Text("nl"), want)
	}
	if ps := e.Details["problems"].([]map[string]string); len(ps) != 3 || ps[1]["field"] != "switch_on" || ps[1]["error_nl"] != "moet een datum zijn" || ps[2]["error_nl"] != "is unknown" {
		t.Errorf("problems: %v", ps)
	}
	down := cmr.Errorf(cmr.KindUnavailable, "the database is away")
	if got := cmr.Together(a, down); got != down {
		t.Errorf("with the store down: %v", got)
	}
}

// TestBeside: a form's faults are joined with a check's refusal of input,
// and stand alone beside a check that could not run.
func TestBeside(t *testing.T) {
	form := cmr.FieldErrorf("switch_on", "must be a date").NL("moet een datum zijn")
	likas := cmr.FieldErrorf("likas", "name at least one LiKa").NL("kies ten minste één LiKa")
	down := cmr.Errorf(cmr.KindUnavailable, "the directory is not answering")
	if got := cmr.Problems(cmr.Beside(form, likas)); len(got) != 2 || got[1].Field != "likas" {
		t.Errorf("two refusals of input: %v", got)
	}
	if got := cmr.Beside(form, down); got != error(form) {
		t.Errorf("beside a check that could not run: %v", got)
	}
	if got := cmr.Beside(nil, down); got != error(down) {
		t.Errorf("no faults of the form: %v", got)
	}
	if cmr.Beside(nil, nil) != nil {
		t.Error("nothing at fault")
	}
}
