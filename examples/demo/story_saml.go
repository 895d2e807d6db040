package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/federation/samlsts"
	"github.com/idbridge/idbridge/federation/ststest"
	"github.com/idbridge/idbridge/integration/idp"
)

// awsSAML continues step 4 on the other road to AWS that banks take: Entra's
// "Amazon Web Services (AWS)" enterprise application signs a SAML assertion
// listing the role,provider pairs Amit's app-role assignments give him, and
// STS AssumeRoleWithSAML turns it into credentials for the role the bank
// policy grants — the same Loan_ReadOnly as the OIDC path above.
func (s *story) awsSAML(ctx context.Context) error {
	// Entra's SAML endpoint for the bank's tenant (the embedded OpenID
	// provider speaks no SAML): Entra's federation metadata, Entra's
	// attribute URIs, signed assertions.
	entra := samltest.New(bankTenantID)
	sts := ststest.NewServer()
	defer sts.Close()
	provider, err := sts.AddSAMLProvider(ststest.SAMLProvider{Name: "EntraID", Metadata: entra.Metadata()})
	if err != nil {
		return err
	}
	loanRO := "arn:aws:iam::" + sts.AccountID() + ":role/Loan_ReadOnly"
	riskRO := "arn:aws:iam::" + sts.AccountID() + ":role/Risk_ReadOnly"
	sts.AddRole(ststest.Role{ARN: loanRO, MaxSessionDuration: 4 * time.Hour})

	md, err := saml.ParseMetadata(entra.Metadata())
	if err != nil {
		return err
	}
	v, err := saml.NewValidator(md, samlsts.Audience, samlsts.Recipient, func(o *saml.Options) {
		o.AllowIdPInitiated = true // sign-in starts at Entra's My Apps
		// The bank's policy names Entra's v2 issuer; SAML sign-ins of the
		// same tenant are decided under it.
		o.ClaimsIssuer = s.idp.Issuer()
		o.Audit = s.auditFor("aws-saml")
	})
	if err != nil {
		return err
	}
	var last string
	myApps := samlsts.AssertionSourceFunc(func(context.Context) (string, error) {
		last = samltest.Encode(entra.Response(samltest.User{
			ObjectID: idp.AmitObjectID, UPN: "amit.r@bank.example", DisplayName: "Amit R",
			Groups: []string{groupLendingRM}, MFA: true, SessionDuration: 4 * 3600,
			AWSRoles: []string{riskRO + "," + provider, loanRO + "," + provider},
		}, samltest.Request{Audience: samlsts.Audience, Recipient: samlsts.Recipient}))
		return last, nil
	})
	p, err := samlsts.NewProvider(sts.Client(), v, myApps, func(o *samlsts.Options) {
		o.Policy = s.policy
		o.Audit = s.auditFor("aws-saml")
	})
	if err != nil {
		return err
	}
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return err
	}
	sess, ok := sts.Session(creds.AccessKeyID)
	if !ok {
		return fmt.Errorf("%w: STS does not know the credentials it issued", errUnexpected)
	}
	s.say("SAML path: Entra's AWS app signs an assertion (issuer %s) offering Risk_ReadOnly, Loan_ReadOnly", entra.EntityID())
	s.say("the policy's grant picks one the assertion lists; Amit's SAML assertion → %s until %s (secret key not shown)",
		sess.AssumedRoleARN, sess.Expiration.Local().Format(time.TimeOnly))

	// Assertions are one-time: the captured one is refused, before STS.
	replay, _ := samlsts.NewProvider(sts.Client(), v, samlsts.AssertionSourceFunc(func(context.Context) (string, error) { return last, nil }))
	_, err = replay.Retrieve(ctx)
	if !errors.Is(err, saml.ErrReplayed) {
		return fmt.Errorf("%w: a replayed assertion: %v", errUnexpected, err)
	}
	s.say("the same assertion again: refused before STS (%s)", idbridge.ReasonOf(err))
	return nil
}
