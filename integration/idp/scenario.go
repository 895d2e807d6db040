package idp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"sync"
)

// The scenario tells the story of the demo (examples/demo): Amit, a relationship manager,
// signs in to the lending app; Priya approves loans; Leo has left the bank.
// Tests share these names instead of inventing their own.

// ScenarioTenantID is the tid of every scenario token.
const ScenarioTenantID = "7d1c2b6e-4f0a-4c8e-9b3d-2a5f6e8c1d90"

// Group object IDs, as Entra emits them in the groups claim.
const (
	GroupLendingRM         = "3f2a9c1e-0b7d-4e5a-8c6f-1d2e3f4a5b60" // Lending_RM
	GroupCBSViewOnly       = "8b4c6d2e-1f3a-4b5c-9d7e-2e3f4a5b6c71" // CBS_ViewOnly
	GroupLoanApprover      = "c5d7e9f1-2a4b-4c6d-8e0f-3f4a5b6c7d82" // Loan_Approver
	GroupAnalyticsReadOnly = "e1f3a5b7-3b5c-4d7e-9f1a-4a5b6c7d8e93" // Analytics_ReadOnly
)

// GroupNames maps the scenario group object IDs to their display names, for
// test output and policy files.
var GroupNames = map[string]string{
	GroupLendingRM:         "Lending_RM",
	GroupCBSViewOnly:       "CBS_ViewOnly",
	GroupLoanApprover:      "Loan_Approver",
	GroupAnalyticsReadOnly: "Analytics_ReadOnly",
}

// Scenario users, their object IDs and passwords. The passwords exist only
// in this test provider.
const (
	UserAmit      = "amit"
	UserPriya     = "priya"
	UserLeo       = "leo"
	AmitObjectID  = "a1b2c3d4-0001-4a5b-8c6d-000000000001"
	PriyaObjectID = "a1b2c3d4-0002-4a5b-8c6d-000000000002"
	LeoObjectID   = "a1b2c3d4-0003-4a5b-8c6d-000000000003"
	AmitPassword  = "amit-pass"
	PriyaPassword = "priya-pass"
	LeoPassword   = "leo-pass"
)

// Scenario app roles.
const (
	RoleLoanViewer    = "LoanViewer"
	RoleKYCReadOnly   = "KYC_ReadOnly"
	RoleLoanApprover  = "LoanApprover"
	RoleAnalyticsRead = "Analytics.Read"
	RoleCBSBatch      = "CBS.Batch"
)

// Scenario resources (App ID URIs), the names clients request tokens by
// ("api://lending/Loans.Read"). As in Entra, a v2.0 access token for one of
// them carries the API's application (client) ID as aud: a token requested
// with scope ResourceLending+"/.default" has aud LendingAppID.
const (
	ResourceLending   = "api://lending"
	ResourceCBS       = "api://cbs"
	ResourceAnalytics = "api://analytics"
)

// Application (client) IDs of the scenario APIs: the aud of their tokens.
const (
	LendingAppID   = "3c6e1a2b-7d4f-4e8a-9b0c-1d2e3f4a5b61"
	CBSAppID       = "8e2b4c6d-1a3f-4b5e-9c7d-2f4a6b8c0d12"
	AnalyticsAppID = "b7d9f1a3-5c2e-4d6f-8a0b-3c5e7f9a1b23"
)

// ScenarioAPIs returns the scenario's App ID URI → application ID map
// ([Options.APIs]).
func ScenarioAPIs() map[string]string {
	return map[string]string{ResourceLending: LendingAppID, ResourceCBS: CBSAppID, ResourceAnalytics: AnalyticsAppID}
}

// Scenario clients and their secrets.
const (
	// ClientLendingWeb is the confidential lending web app: authorization
	// code with PKCE and refresh tokens.
	ClientLendingWeb = "lending-web"
	// ClientLendingAPI is the lending API (ResourceLending, LendingAppID);
	// it exchanges a user's token for a downstream one (on-behalf-of, RFC 8693).
	ClientLendingAPI = LendingAppID
	// ClientAnalyticsSvc is a daemon using client_credentials with a secret;
	// its tokens carry the app role Analytics.Read.
	ClientAnalyticsSvc = "analytics-svc"
	// ClientCBSBatch is a daemon using client_credentials with
	// private_key_jwt; sign its assertions with [CBSBatchKey].
	ClientCBSBatch = "cbs-batch"
	// ClientBankCLI is a public CLI: device flow, refresh tokens, and the
	// code flow on a loopback redirect.
	ClientBankCLI = "bank-cli"

	LendingWebSecret   = "lending-web-secret"
	LendingAPISecret   = "lending-api-secret"
	AnalyticsSvcSecret = "analytics-svc-secret"

	// ScenarioRedirectURI is the redirect URI of lending-web and bank-cli.
	// Login returns the redirect without following it, so nothing listens there.
	ScenarioRedirectURI = "http://127.0.0.1/callback"
	// CBSBatchKeyID is the kid of [CBSBatchKey].
	CBSBatchKeyID = "cbs-batch-key-1"
)

// ScenarioUsers returns fresh copies of the scenario users: amit (Relationship
// Manager, Lending_RM, roles LoanViewer and KYC_ReadOnly, MFA), priya (credit
// officer, Loan_Approver, password only) and leo (a disabled leaver).
func ScenarioUsers() []User {
	return []User{
		{
			Username: UserAmit, Password: AmitPassword, ObjectID: AmitObjectID,
			Name: "Amit R", Email: "amit.r@bank.example",
			Groups: []string{GroupLendingRM},
			Roles:  []string{RoleLoanViewer, RoleKYCReadOnly},
			AMR:    []string{"pwd", "mfa"},
		},
		{
			Username: UserPriya, Password: PriyaPassword, ObjectID: PriyaObjectID,
			Name: "Priya S", Email: "priya.s@bank.example",
			Groups: []string{GroupLoanApprover},
			Roles:  []string{RoleLoanApprover},
			AMR:    []string{"pwd"},
		},
		{
			Username: UserLeo, Password: LeoPassword, ObjectID: LeoObjectID,
			Name: "Leo M", Email: "leo.m@bank.example",
			Groups:   []string{GroupCBSViewOnly},
			Roles:    []string{RoleLoanViewer},
			AMR:      []string{"pwd"},
			Disabled: true,
		},
	}
}

// ScenarioClients returns fresh copies of the scenario clients.
func ScenarioClients() []Client {
	return []Client{
		{
			ID: ClientLendingWeb, Secret: LendingWebSecret,
			RedirectURIs: []string{ScenarioRedirectURI},
			GrantTypes:   []string{GrantAuthorizationCode, GrantRefreshToken},
		},
		{
			ID: ClientLendingAPI, Secret: LendingAPISecret, Resource: ResourceLending,
			GrantTypes: []string{GrantTokenExchange, GrantClientCredentials},
		},
		{
			ID: ClientAnalyticsSvc, Secret: AnalyticsSvcSecret,
			Roles:      []string{RoleAnalyticsRead},
			GrantTypes: []string{GrantClientCredentials},
		},
		{
			ID:         ClientCBSBatch,
			Roles:      []string{RoleCBSBatch},
			PublicKeys: map[string]crypto.PublicKey{CBSBatchKeyID: CBSBatchKey().Key.Public()},
			GrantTypes: []string{GrantClientCredentials},
		},
		{
			ID: ClientBankCLI, Public: true,
			RedirectURIs: []string{ScenarioRedirectURI},
			GrantTypes:   []string{GrantDeviceCode, GrantRefreshToken, GrantAuthorizationCode},
		},
	}
}

var cbsBatchKey = sync.OnceValue(func() *rsa.PrivateKey {
	if keys := testKeys(); len(keys) > 0 {
		return keys[0]
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		// crypto/rand cannot fail and 2048 bits is a valid size, so this
		// is unreachable; a provider without its scenario key is useless.
		panic("idp: generating the cbs-batch key: " + err.Error())
	}
	return k
})

// CBSBatchKey returns the RSA key cbs-batch signs its private_key_jwt
// assertions with (RS256 or PS256). It is the first key of testkeys.pem, the
// same in every process, so a client outside the test binary (for example
// one talking to the standalone command) can sign for cbs-batch too.
func CBSBatchKey() ClientKey {
	return ClientKey{KID: CBSBatchKeyID, Key: cbsBatchKey()}
}
