package catalog_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/rbac/catalog"
)

func TestWhatIfMover(t *testing.T) {
	p := bank(t)
	amit, err := os.ReadFile("../../examples/policies/amit.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		add, remove  []string
		allowedAfter bool
		gained, lost []string // entitlement names
		newConflicts []string
	}{
		{name: "added to Credit_Officers while still an RM", add: []string{"Credit_Officers"},
			allowedAfter: false, lost: []string{"KYC_ReadOnly", "LoanOriginator", "LoanViewer", "kyc:read", "loan:create", "loan:read",
				"arn:aws:iam::111122223333:role/Loan_ReadOnly", "CBS_ViewOnly"},
			newConflicts: []string{"originate-vs-approve"}},
		{name: "moved from Lending_RM to Credit_Officers", add: []string{"a83e1f52-6c4b-47d9-8e20-c5b9d4a7f261"}, remove: []string{"Lending_RM"},
			allowedAfter: true,
			gained:       []string{"LoanApprover", "loan:approve", "arn:aws:iam::111122223333:role/Loan_Approver", "AD_Loan_Approver"},
			lost:         []string{"KYC_ReadOnly", "LoanOriginator", "LoanViewer", "kyc:read", "loan:create", "arn:aws:iam::111122223333:role/Loan_ReadOnly", "CBS_ViewOnly"}},
		{name: "leaver", add: []string{"HR_Leavers"}, allowedAfter: false,
			lost: []string{"KYC_ReadOnly", "LoanOriginator", "LoanViewer", "kyc:read", "loan:create", "loan:read",
				"arn:aws:iam::111122223333:role/Loan_ReadOnly", "CBS_ViewOnly"}},
	}
	names := func(es []catalog.Entitlement) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := catalog.WhatIf(p, amit, tt.add, tt.remove)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Before.Allowed || m.After.Allowed != tt.allowedAfter {
				t.Fatalf("before %+v after %+v", m.Before, m.After)
			}
			slices.Sort(tt.gained)
			slices.Sort(tt.lost)
			if g := names(m.Gained); !slices.Equal(g, tt.gained) {
				t.Errorf("gained %v, want %v", g, tt.gained)
			}
			if l := names(m.Lost); !slices.Equal(l, tt.lost) {
				t.Errorf("lost %v, want %v", l, tt.lost)
			}
			if !slices.Equal(m.NewConflicts, tt.newConflicts) {
				t.Errorf("new conflicts %v, want %v", m.NewConflicts, tt.newConflicts)
			}
		})
	}
}

func TestWhatIfRefuses(t *testing.T) {
	p := bank(t)
	amit, _ := os.ReadFile("../../examples/policies/amit.json")
	if _, err := catalog.WhatIf(p, amit, []string{"CBS_ViewOnly"}, nil); !errors.Is(err, catalog.ErrUnknownGroup) {
		t.Errorf("a directory group on an Entra token: %v", err)
	}
	if _, err := catalog.WhatIf(p, amit, []string{"Nope"}, nil); !errors.Is(err, catalog.ErrUnknownGroup) {
		t.Errorf("unknown group: %v", err)
	}
	if mv, err := catalog.WhatIf(nil, amit, []string{"Credit_Officers"}, nil); mv != nil || !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("a nil policy: %v, %v", mv, err)
	}
	for _, claims := range []string{`[]`, `{"iss": 3}`, `{"iss": "https://evil.example"}`, `{"iss": "https://login.microsoftonline.com/9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c/v2.0", "groups": "x"}`} {
		if _, err := catalog.WhatIf(p, []byte(claims), []string{"Credit_Officers"}, nil); err == nil {
			t.Errorf("%s: no error", claims)
		}
	}
}
