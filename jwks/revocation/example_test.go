package revocation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/revocation"
)

// Governance revokes Leo, a leaver; his token, issued before, is refused,
// while a token from a later sign-in (a re-hire) is accepted.
func Example() {
	list, err := revocation.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	leo := &jwks.Claims{ // as jwks.Validator returns them
		Issuer: entraIss, TenantID: tid, ObjectID: leoOID,
		IssuedAt: time.Now().Add(-10 * time.Minute),
	}
	if err := list.Revoke(ctx, revocation.EntraUser(tid, leoOID)); err != nil {
		log.Fatal(err)
	}

	err = list.Check(ctx, leo)
	fmt.Println(err, errors.Is(err, revocation.ErrRevoked), idbridge.Reason(err))

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
// replica of a shared list: here the Microsoft Graph group cache of
// rbac/graph (Source.Forget takes the object ID). rbac/ldap's cache is
// keyed by the directory account the claims map to, so call its
// Directory.Forget with the user's claims where the service has them.
func ExampleOptions_onRevoke() {
	forget := func(objectID string) { fmt.Println("graph groups forgotten:", objectID) } // graphSource.Forget
	list, _ := revocation.New(func(o *revocation.Options) {
		o.OnRevoke = func(e revocation.Entry) {
			if e.Kind == revocation.Subject && e.ObjectID != "" {
				forget(e.ObjectID)
			}
		}
	})
	_ = list.Revoke(context.Background(), revocation.EntraUser(tid, leoOID))
	// Output:
	// graph groups forgotten: 7b2c1e8a-4f3d-4a9e-9c61-0e5d2f1a3b44
}
