package catalog_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/idbridge/idbridge/rbac"
	"github.com/idbridge/idbridge/rbac/catalog"
)

// The bank's catalogue: what each group grants, and the group combinations
// that break separation of duties.
func ExampleNew() {
	p, err := rbac.NewPolicy("../../examples/policies/bank.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := catalog.New(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range c.Groups[:2] {
		for _, gr := range g.Grants {
			fmt.Printf("%s: %v when %v\n", g.Name, gr.Roles, gr.When)
		}
	}
	for _, s := range c.SoD {
		for _, cf := range s.Conflicts {
			fmt.Printf("%s: %s (in one decision: %v)\n", s.ID, strings.Join(cf.Groups, " + "), cf.InOneDecision)
		}
	}
	// Output:
	// Lending_RM: [LoanViewer KYC_ReadOnly] when []
	// Lending_RM: [LoanOriginator] when [scope Loans.ReadWrite mfa]
	// Credit_Officers: [LoanApprover] when [mfa]
	// originate-vs-approve: Credit_Officers + Lending_RM (in one decision: true)
	// cbs-view-vs-approve-origination: AD_Loan_Approver + Lending_RM (in one decision: false)
	// cbs-view-vs-approve-origination: Credit_Officers + Lending_RM (in one decision: false)
}

// The mover question: Amit, a Relationship Manager, is added to
// Credit_Officers.
func ExampleWhatIf() {
	p, _ := rbac.NewPolicy("../../examples/policies/bank.yaml")
	amit, _ := os.ReadFile("../../examples/policies/amit.json")
	m, err := catalog.WhatIf(p, amit, []string{"Credit_Officers"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after:", m.After.Allowed, m.After.Reason, m.After.DeniedBy)
	fmt.Println("new conflicts:", m.NewConflicts)
	// Output:
	// after: false forbidden originate-vs-approve
	// new conflicts: [originate-vs-approve]
}
