package revocation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks/revocation"
	"github.com/idbridge/idbridge/token"
)

// Governance revokes Leo, a leaver; his token, issued before, is refused,
// while a token from a later sign-in (a re-hire) is accepted.
func Example() {
	list, err := revocation.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	leo := &idbridge.Claims{ // as jwks.Validator returns them
		Issuer: entraIss, TenantID: tid, ObjectID: leoOID,
		IssuedAt: time.Now().Add(-10 * time.Minute),
	}
	if err := list.Revoke(ctx, revocation.EntraUser(tid, leoOID)); err != nil {
		log.Fatal(err)
	}

	err = list.Check(ctx, leo)
	fmt.Println(err, errors.Is(err, revocation.ErrRevoked), idbridge.ReasonOf(err))

	rehired := *leo
	rehired.IssuedAt = time.Now().Add(time.Second)
	fmt.Println(list.Check(ctx, &rehired))
	// Output:
	// revocation: token revoked (subject) true revoked
	// <nil>
}

// An identity governance tool (IGA) calls a webhook when HR marks a user
// as a leaver; the handler turns its JSON into a Revoke. Authenticate such
// a webhook (mTLS, a signed payload or a bearer token) before trusting it.
func Example_governanceWebhook() {
	list, _ := revocation.New()
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Event    string `json:"event"` // "leaver", "mover", ...
			TenantID string `json:"tenantId"`
			ObjectID string `json:"objectId"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&ev); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if ev.Event != "leaver" {
			w.WriteHeader(http.StatusAccepted) // nothing to revoke
			return
		}
		if err := list.Revoke(r.Context(), revocation.EntraUser(ev.TenantID, ev.ObjectID)); err != nil {
			http.Error(w, "invalid subject", http.StatusBadRequest) // malformed: refused, not stored
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})

	for _, body := range []string{
		`{"event":"leaver","tenantId":"` + tid + `","objectId":"` + leoOID + `"}`,
		`{"event":"leaver","tenantId":"` + tid + `","objectId":""}`,
	} {
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/leaver", strings.NewReader(body)))
		fmt.Println(rec.Code)
	}
	fmt.Println(list.Len(), "entry")
	// Output:
	// 202
	// 400
	// 1 entry
}

// Options.OnRevoke drops what caches hold for a revoked user, on every
// replica of a shared list: the Microsoft Graph group cache of rbac/graph
// (Source.Forget takes the object ID), the downstream tokens a
// token.Exchange obtained on the user's behalf, and the group cache of an
// rbac/ldap Directory (dir.ForgetMatching(e.Matches), the same way).
func ExampleOptions_onRevoke() {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"core-banking-token","token_type":"Bearer","expires_in":3600}`)
	}))
	defer idp.Close()
	obo, err := token.NewOnBehalfOf(token.Client{ID: "lending-api", TokenURL: idp.URL, Auth: token.ClientSecretPost("s")})
	if err != nil {
		log.Fatal(err)
	}
	defer obo.Close()
	forget := func(objectID string) { fmt.Println("graph groups forgotten:", objectID) } // graphSource.Forget

	list, _ := revocation.New(func(o *revocation.Options) {
		o.OnRevoke = func(e revocation.Entry) {
			if e.Kind == revocation.Subject && e.ObjectID != "" {
				forget(e.ObjectID)
			}
			fmt.Println("on-behalf-of entries dropped:", obo.Forget(e.Matches))
		}
	})
	ctx := context.Background()
	// Leo's access token, as the guard validated it, exchanged for a token
	// to call core banking.
	leoToken := unsignedJWT(`{"aud":"6e74172b-be56-4843-9ff4-e66a39bb12e3","iss":"` + entraIss +
		`","iat":` + fmt.Sprint(time.Now().Add(-10*time.Minute).Unix()) + `,"scp":"Loans.Read","tid":"` + tid +
		`","oid":"` + leoOID + `","sub":"pairwise-leo","ver":"2.0"}`)
	if _, err := obo.Token(ctx, leoToken, []string{"api://core-banking/Accounts.Read"}); err != nil {
		log.Fatal(err)
	}
	_ = list.Revoke(ctx, revocation.EntraUser(tid, leoOID))
	// Output:
	// graph groups forgotten: 7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44
	// on-behalf-of entries dropped: 1
}

// unsignedJWT stands in for a token a client sent; only its shape matters.
func unsignedJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("signature"))
}
