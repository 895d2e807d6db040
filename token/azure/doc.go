// Package azure gives services hosted in Azure tokens without a secret:
// managed identity, workload identity and the DefaultAzureCredential chain
// of github.com/Azure/azure-sdk-for-go/sdk/azidentity, as token.Source
// values cached and renewed by token.Cache.
//
// It is a package of its own so that only programs that import it link the
// Azure SDK: package token does not depend on it.
//
// # Which credential
//
//   - [ManagedIdentity]: App Service, Functions, Container Apps, VMs and
//     AKS node pools. The system-assigned identity by default; a
//     user-assigned one by ManagedIdentityOptions.ClientID or ResourceID. azidentity
//     talks to IMDS (169.254.169.254) or to the host's local endpoint
//     (IDENTITY_ENDPOINT with IDENTITY_HEADER on App Service).
//   - [WorkloadIdentity]: AKS with Microsoft Entra Workload ID. The pod's
//     projected service account token (AZURE_FEDERATED_TOKEN_FILE) is the
//     client assertion for the app AZURE_CLIENT_ID in AZURE_TENANT_ID.
//   - [DefaultCredential]: the chain azidentity users know (environment,
//     workload identity, managed identity, Azure CLI, ...), for code that
//     runs both on a laptop and in Azure.
//   - [FromCredential] adapts any azcore.TokenCredential; [NewSource] does
//     so without a cache.
//
// Each returns a token.Cache:
//
//	tokens, err := azure.ManagedIdentity([]string{"api://cbs/.default"})
//	if err != nil { ... }
//	defer tokens.Close()
//	tok, err := tokens.Token(ctx) // renewed ahead in the background
//
// # On-behalf-of without a secret
//
// An Entra app registration can trust a managed identity as a federated
// identity credential; the identity's token for [TokenExchangeScope] is
// then the app's client assertion:
//
//	mi, _ := azure.ManagedIdentity([]string{azure.TokenExchangeScope})
//	client := token.Client{ID: appID, TokenURL: tokenURL, Auth: token.ClientAssertion(azure.Assertion(mi))}
//
// # Errors
//
// Errors are [*Error] values that wrap a token sentinel, so idbridge.ReasonOf
// classes them like the rest of the SDK: a credential that is not
// available here (no managed identity endpoint, a missing variable or
// file) is idbridge.ErrInvalidOptions (invalid_options); a refusal by the identity
// endpoint (HTTP 4xx: an identity not assigned to the resource, no
// federated credential matching the token) is token.ErrRejected
// (forbidden); network failures, 429 and 5xx are token.ErrIdPUnavailable
// and retried by the cache. Their text names the credential and the HTTP
// status, never the response body; azidentity's error stays reachable
// with errors.As.
package azure
