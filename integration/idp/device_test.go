package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/idbridge/idbridge/integration/idp"
)

type deviceAuth struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

func startDevice(t *testing.T, p *idp.Provider, scope string) deviceAuth {
	t.Helper()
	resp, err := p.HTTPClient().PostForm(p.DeviceAuthURL(), url.Values{"client_id": {idp.ClientBankCLI}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("device authorization: HTTP %d", resp.StatusCode)
	}
	var da deviceAuth
	if err := json.NewDecoder(resp.Body).Decode(&da); err != nil {
		t.Fatal(err)
	}
	return da
}

func pollDevice(t *testing.T, p *idp.Provider, deviceCode string) tokenResponse {
	t.Helper()
	return postToken(t, p, url.Values{"grant_type": {idp.GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {idp.ClientBankCLI}}, "", "")
}

func TestDeviceFlow(t *testing.T) {
	p := idp.StartTest(t)
	da := startDevice(t, p, "openid offline_access "+idp.ResourceLending+"/Loans.Read")
	if da.DeviceCode == "" || da.UserCode == "" || da.Interval != 1 || da.ExpiresIn != 300 ||
		da.VerificationURI != p.Issuer()+"/device" || !strings.Contains(da.VerificationURIComplete, "user_code=") {
		t.Fatalf("device authorization response %+v", da)
	}
	wantError(t, pollDevice(t, p, da.DeviceCode), http.StatusBadRequest, "authorization_pending")

	ctx := testContext(t)
	if err := p.ApproveDevice(ctx, da.UserCode, idp.UserAmit, "wrong"); !errors.Is(err, idp.ErrInvalidCredentials) {
		t.Fatalf("approve with a wrong password = %v", err)
	}
	if err := p.ApproveDevice(ctx, da.UserCode, idp.UserLeo, idp.LeoPassword); !errors.Is(err, idp.ErrUserDisabled) {
		t.Fatalf("approve by a leaver = %v", err)
	}
	if err := p.ApproveDevice(ctx, "BCDF-GHJK", idp.UserAmit, idp.AmitPassword); !errors.Is(err, idp.ErrUnknownRequest) {
		t.Fatalf("approve an unknown code = %v", err)
	}
	if err := p.ApproveDevice(ctx, da.UserCode, idp.UserAmit, idp.AmitPassword); err != nil {
		t.Fatal(err)
	}

	tr := mustToken(t, pollDevice(t, p, da.DeviceCode))
	if tr.RefreshToken == "" || tr.IDToken == "" {
		t.Error("device flow with openid offline_access lacks a refresh or ID token")
	}
	_, c := mustParse(t, p, tr.AccessToken)
	if aud := audOf(t, c); !slices.Equal(aud, []string{idp.LendingAppID}) || c["azp"] != idp.ClientBankCLI || c["scp"] != "Loans.Read" || c["oid"] != idp.AmitObjectID {
		t.Errorf("device token aud %v azp %v scp %v oid %v", aud, c["azp"], c["scp"], c["oid"])
	}
	_, ic := mustParse(t, p, tr.IDToken)
	if aud := audOf(t, ic); !slices.Equal(aud, []string{idp.ClientBankCLI}) {
		t.Errorf("id token aud %v", aud)
	}
	wantError(t, pollDevice(t, p, da.DeviceCode), http.StatusBadRequest, "invalid_grant") // one-time

	// The public client refreshes without a secret, with rotation.
	refreshed := mustToken(t, postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {idp.ClientBankCLI}}, "", ""))
	if refreshed.RefreshToken == tr.RefreshToken {
		t.Error("refresh token not rotated")
	}
}

func TestDeviceExpiry(t *testing.T) {
	clock := &fakeClock{}
	p := idp.StartTest(t, func(o *idp.Options) { o.Now = clock.Now; o.DeviceCodeLifetime = time.Minute })
	da := startDevice(t, p, "openid")
	clock.Advance(2 * time.Minute)
	wantError(t, pollDevice(t, p, da.DeviceCode), http.StatusBadRequest, "expired_token")
	if err := p.ApproveDevice(testContext(t), da.UserCode, idp.UserAmit, idp.AmitPassword); !errors.Is(err, idp.ErrUnknownRequest) {
		t.Fatalf("approving an expired code = %v", err)
	}
}

func TestDeviceFlowWithOAuth2(t *testing.T) {
	p := idp.StartTest(t)
	cfg := &oauth2.Config{ClientID: idp.ClientBankCLI, Endpoint: p.Endpoint(), Scopes: []string{"openid", idp.ResourceLending + "/.default"}}
	ctx := context.WithValue(testContext(t), oauth2.HTTPClient, p.HTTPClient())
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ApproveDevice(ctx, da.UserCode, idp.UserPriya, idp.PriyaPassword); err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da) // polls after one interval (1 s)
	if err != nil {
		t.Fatal(err)
	}
	_, c := mustParse(t, p, tok.AccessToken)
	if c["oid"] != idp.PriyaObjectID || !slices.Equal(strs(c["groups"]), []string{idp.GroupLoanApprover}) {
		t.Errorf("claims %v", c)
	}
}

func TestDeviceFlowRefused(t *testing.T) {
	p := idp.StartTest(t)
	resp, err := p.HTTPClient().PostForm(p.DeviceAuthURL(), url.Values{"client_id": {idp.ClientLendingWeb}, "client_secret": {idp.LendingWebSecret}, "scope": {"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("device flow for a client without the grant: HTTP %d", resp.StatusCode)
	}
}
