package saml_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idbridge/idbridge"
	"github.com/idbridge/idbridge/federation/saml"
	"github.com/idbridge/idbridge/federation/saml/samltest"
	"github.com/idbridge/idbridge/internal/reason"
)

// mdServer is an in-memory metadata endpoint: a RoundTripper, so the
// background refresh can run inside a synctest bubble.
type mdServer struct {
	mu      sync.Mutex
	doc     []byte
	status  int
	fetches atomic.Int32
}

func (s *mdServer) set(doc []byte, status int) {
	s.mu.Lock()
	s.doc, s.status = doc, status
	s.mu.Unlock()
}

func (s *mdServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return &http.Response{StatusCode: s.status, Body: io.NopCloser(bytes.NewReader(s.doc)), Header: http.Header{}, Request: r}, nil
}

const mdURL = "https://login.microsoftonline.com/" + tenant + "/federationmetadata/2007-06/federationmetadata.xml"

func remote(t *testing.T, s *mdServer, opts ...func(*saml.MetadataOptions)) *saml.Metadata {
	t.Helper()
	md, err := saml.NewRemoteMetadata(context.Background(), mdURL, append([]func(*saml.MetadataOptions){func(o *saml.MetadataOptions) {
		o.HTTPClient = &http.Client{Transport: s}
	}}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { md.Close() })
	return md
}

func TestRemoteMetadataRollover(t *testing.T) {
	oldIdP, newIdP := testIdP(t) // same tenant, two certificates
	s := &mdServer{}
	s.set(oldIdP.Metadata(), 200)
	md := remote(t, s)
	v, err := saml.NewValidator(md, spEntity, acsURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, samltest.Encode(oldIdP.Response(amit, request())), "id-4f2b9c"); err != nil {
		t.Fatalf("old certificate: %v", err)
	}
	// Entra publishes the new certificate and signs with it: the first
	// response signed with it makes the validator fetch the metadata again.
	s.set(newIdP.Metadata(), 200)
	if _, err := v.Validate(ctx, samltest.Encode(newIdP.Response(amit, request())), "id-4f2b9c"); err != nil {
		t.Fatalf("after rollover: %v", err)
	}
	if n := s.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// The IdP goes down: the last good metadata stays.
	s.set([]byte("upstream error"), 503)
	if err := md.Refresh(ctx); !errors.Is(err, saml.ErrIdPUnavailable) {
		t.Fatalf("Refresh = %v, want ErrIdPUnavailable", err)
	}
	if _, err := v.Validate(ctx, samltest.Encode(newIdP.Response(amit, request())), "id-4f2b9c"); err != nil {
		t.Fatalf("last good metadata not kept: %v", err)
	}
	// A certificate nobody published costs at most one fetch per window.
	before := s.fetches.Load()
	for range 5 {
		_, err := v.Validate(ctx, samltest.Encode(oldIdP.Response(amit, request())), "id-4f2b9c")
		if !errors.Is(err, saml.ErrUnknownKey) || reason.Of(err) != reason.UnknownKey {
			t.Fatalf("unknown certificate: %v", err)
		}
	}
	if n := s.fetches.Load() - before; n != 0 {
		t.Fatalf("%d fetches for unknown certificates inside the window, want 0", n)
	}
}

func TestRemoteMetadataRefusesAnotherEntity(t *testing.T) {
	idp, _ := testIdP(t)
	s := &mdServer{}
	s.set(idp.Metadata(), 200)
	md := remote(t, s)
	s.set(samltest.New("1a2b3c4d-0000-4000-8000-00000000000f").Metadata(), 200)
	if err := md.Refresh(ctx); !errors.Is(err, saml.ErrIssuer) {
		t.Fatalf("Refresh = %v, want ErrIssuer", err)
	}
	if md.EntityID() != idp.EntityID() {
		t.Fatalf("entity ID changed to %s", md.EntityID())
	}
}

func TestRemoteMetadataRefreshesInBackground(t *testing.T) {
	idp, _ := testIdP(t)
	synctest.Test(t, func(t *testing.T) {
		s := &mdServer{}
		s.set(idp.Metadata(), 200)
		md, err := saml.NewRemoteMetadata(context.Background(), mdURL, func(o *saml.MetadataOptions) {
			o.HTTPClient = &http.Client{Transport: s}
			o.Refresh = time.Hour
			o.Retry = time.Minute
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		if n := s.fetches.Load(); n != 2 {
			t.Fatalf("%d fetches after one period, want 2", n)
		}
		s.set(nil, 500)
		time.Sleep(time.Hour + time.Second) // fails: retried after a minute
		synctest.Wait()
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if n := s.fetches.Load(); n != 4 {
			t.Fatalf("%d fetches, want 4 (one failed, one retry)", n)
		}
		md.Close()
		md.Close() // idempotent
	})
}

func TestMetadataOptionsRefused(t *testing.T) {
	for _, u := range []string{"http://login.example/md.xml", "ftp://x/y", "/relative"} {
		if _, err := saml.NewRemoteMetadata(ctx, u); !errors.Is(err, idbridge.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", u, err)
		}
	}
	if _, err := saml.ParseMetadata([]byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`)); !errors.Is(err, saml.ErrMalformed) {
		t.Errorf("metadata without certificates: %v", err)
	}
	md, _ := saml.ParseMetadata(theIdPMetadata(t))
	if _, err := saml.NewValidator(md, "", acsURL); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("empty entity ID: %v", err)
	}
	if _, err := saml.NewValidator(md, spEntity, "acs"); !errors.Is(err, idbridge.ErrInvalidOptions) {
		t.Errorf("relative ACS: %v", err)
	}
}

func theIdPMetadata(t *testing.T) []byte {
	idp, _ := testIdP(t)
	return idp.Metadata()
}

// TestEntraFederationMetadata reads a document with the structure of the
// one Entra serves at .../federationmetadata/2007-06/federationmetadata.xml:
// an enveloped signature, two WS-Federation RoleDescriptors
// (SecurityTokenServiceType, ApplicationServiceType), and an
// IDPSSODescriptor listing the current and the next signing certificate.
func TestEntraFederationMetadata(t *testing.T) {
	doc, err := os.ReadFile("testdata/entra-federationmetadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	md, err := saml.ParseMetadata(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := md.EntityID(); got != "https://sts.windows.net/"+tenant+"/" {
		t.Fatalf("entityID %s", got)
	}
	ed := md.Descriptor()
	if len(ed.IDPSSODescriptors) != 1 || len(ed.IDPSSODescriptors[0].KeyDescriptors) != 2 {
		t.Fatalf("IDPSSODescriptor: %+v", ed.IDPSSODescriptors)
	}
	v, err := saml.NewValidator(md, spEntity, acsURL)
	if err != nil {
		t.Fatal(err)
	}
	u, id, err := v.AuthnRequest("r")
	if err != nil || !strings.HasPrefix(u, "https://login.microsoftonline.com/"+tenant+"/saml2?SAMLRequest=") || id == "" {
		t.Fatalf("AuthnRequest = %s, %s, %v", u, id, err)
	}
}
