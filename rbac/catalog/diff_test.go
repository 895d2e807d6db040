package catalog_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/catalog"
)

// changedBank is bank.yaml with the changes a reviewer would want to see:
// Credit_Officers lose their AWS role, Lending_RM's AWS session doubles and
// originating no longer needs the read-write scope.
func changedBank(t *testing.T) *rbac.Policy {
	t.Helper()
	data, err := os.ReadFile(bankPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range [][2]string{
		{"duration: 1h", "duration: 2h"},
		{"      mfa: true\n      scope: Loans.ReadWrite\n", "      mfa: true\n"},
		{"      aws:\n        - role_arn: arn:aws:iam::111122223333:role/Loan_Approver\n          duration: 30m\n          source_identity: preferred_username\n", ""},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("bank.yaml no longer has %q", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	p, err := rbac.ParsePolicy([]byte(s), func(o *rbac.Options) { o.Name = "bank-v2.yaml" })
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareGolden(t *testing.T) {
	old, err := catalog.New(bank(t))
	if err != nil {
		t.Fatal(err)
	}
	new, err := catalog.New(changedBank(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := catalog.Compare(old, new)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := d.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "bank.diff.txt", b.Bytes())
	if len(d.Groups) != 2 || d.Groups[0].Name != "Lending_RM" || d.Groups[1].Name != "Credit_Officers" {
		t.Fatalf("groups: %+v", d.Groups)
	}
	if len(d.NewConflicts) != 3 || len(d.ResolvedConflicts) != 3 {
		t.Fatalf("conflicts: new %v, resolved %v", d.NewConflicts, d.ResolvedConflicts)
	}
	// Nothing changes between a policy and itself.
	if d, err := catalog.Compare(old, old); err != nil || !d.Empty() {
		t.Fatalf("self diff: %v %+v", err, d)
	}
}

func TestCompareSchemaMismatch(t *testing.T) {
	old, _ := catalog.New(bank(t))
	future := *old
	future.SchemaVersion = 2
	for _, pair := range [][2]*catalog.Catalog{{old, &future}, {&future, &future}} {
		if d, err := catalog.Compare(pair[0], pair[1]); !errors.Is(err, catalog.ErrSchemaVersion) || d != nil {
			t.Fatalf("got %v, %v", d, err)
		}
	}
}

// TestCompareNil: a missing catalogue (a failed Read's nil) is refused with
// ErrInvalidOptions, not a nil dereference.
func TestCompareNil(t *testing.T) {
	c, err := catalog.New(bank(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		old, new *catalog.Catalog
	}{
		{"nil old", nil, c},
		{"nil new", c, nil},
		{"both nil", nil, nil},
	} {
		if d, err := catalog.Compare(tt.old, tt.new); d != nil || !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: got %v, %v; want ErrInvalidOptions", tt.name, d, err)
		}
	}
}
