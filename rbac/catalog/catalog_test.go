package catalog_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const bankPath = "../../examples/policies/bank.yaml"

func bank(t *testing.T) *rbac.Policy {
	t.Helper()
	p, err := rbac.NewPolicy(bankPath)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", name, got)
	}
}

// TestBankCatalogGolden: bank.yaml's catalogue in JSON and both CSVs.
func TestBankCatalogGolden(t *testing.T) {
	c, err := catalog.New(bank(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"bank.catalog.json", func(b *bytes.Buffer) error { return c.WriteJSON(b) }},
		{"bank.catalog.csv", func(b *bytes.Buffer) error { return c.WriteCSV(b) }},
		{"bank.conflicts.csv", func(b *bytes.Buffer) error { return c.WriteConflictsCSV(b) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, f.name, b.Bytes())
	}
	// The JSON reads back to the same catalogue.
	var b bytes.Buffer
	_ = c.WriteJSON(&b)
	back, err := catalog.Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := catalog.Compare(c, back)
	if err != nil || !d.Empty() {
		t.Fatalf("round trip: %v %+v", err, d)
	}
}

func TestBankConflicts(t *testing.T) {
	c, err := catalog.New(bank(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.SoD {
		for _, cf := range s.Conflicts {
			got = append(got, fmt.Sprintf("%s: %s in_one_decision=%v via=%v", s.ID, strings.Join(cf.Groups, "+"), cf.InOneDecision, cf.Via))
		}
	}
	want := []string{
		"originate-vs-approve: Credit_Officers+Lending_RM in_one_decision=true via=[]",
		// Lending_RM (Entra) and the directory's Loan_Approver group.
		"cbs-view-vs-approve-origination: AD_Loan_Approver+Lending_RM in_one_decision=false via=[]",
		// Credit_Officers is provisioned into AD_Loan_Approver, which grants
		// CBS_LoanApprover on-premises.
		"cbs-view-vs-approve-origination: Credit_Officers+Lending_RM in_one_decision=false via=[AD_Loan_Approver]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
	// The provisioned directory group says what it grants in turn.
	if dg := c.Groups[1].Grants[0].DirectoryGroups[0]; dg.Name != "AD_Loan_Approver" || len(dg.Roles) != 1 || dg.Roles[0] != "CBS_LoanApprover" {
		t.Errorf("%+v", dg)
	}
}

func TestReadRefuses(t *testing.T) {
	tests := []struct {
		name, doc string
		want      error
	}{
		{"other schema version", `{"schema_version": 2, "groups": []}`, catalog.ErrSchemaVersion},
		{"no schema version", `{"groups": []}`, catalog.ErrMalformed},
		{"not JSON", `schema_version: 1`, catalog.ErrMalformed},
		{"unknown field", `{"schema_version": 1, "grups": []}`, catalog.ErrMalformed},
		{"wrong type", `{"schema_version": 1, "groups": {}}`, catalog.ErrMalformed},
		{"trailing data", `{"schema_version": 1} {}`, catalog.ErrMalformed},
		{"truncated", `{"schema_version": 1, "groups": [`, catalog.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := catalog.Read(strings.NewReader(tt.doc))
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("got %v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

func TestCSVFormulaCellsQuoted(t *testing.T) {
	c := &catalog.Catalog{SchemaVersion: 1, Groups: []catalog.Group{{ID: "g", Name: "G", Issuer: "x",
		Grants: []catalog.Grant{{Mapping: "m", Roles: []string{"=HYPERLINK(\"x\")"}}}}}}
	var b bytes.Buffer
	if err := c.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `'=HYPERLINK`) {
		t.Fatalf("formula not neutralised:\n%s", b.String())
	}
}

func TestNewNilPolicy(t *testing.T) {
	if _, err := catalog.New(nil); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Fatalf("New(nil) = %v, want ErrInvalidOptions", err)
	}
}
