package keyfuncset_test

import (
	"context"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idbridge/idbridge/jwks"
	"github.com/idbridge/idbridge/jwks/jwkstest"
	"github.com/idbridge/idbridge/jwks/keyfuncset"
)

func TestNew(t *testing.T) {
	idp := jwkstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // stops keyfunc's refresh goroutine
	k, err := keyfunc.NewDefaultCtx(ctx, []string{idp.JWKSURL()})
	require.NoError(t, err)
	v, err := jwks.NewValidator(func(o *jwks.Options) {
		o.Issuers = []jwks.Issuer{{Issuer: idp.Issuer(), Keys: keyfuncset.New(k)}}
		o.Audiences = []string{"api://orders"}
		o.Algorithms = []string{"RS256"}
	})
	require.NoError(t, err)
	defer v.Close()

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", idp.Mint(map[string]any{"aud": "api://orders"}), nil},
		{"unknown kid", idp.MintWithHeader(map[string]any{"kid": "nope"}, map[string]any{"aud": "api://orders"}), jwks.ErrUnknownKey},
		{"wrong audience", idp.Mint(map[string]any{"aud": "api://payments"}), jwks.ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Validate(context.Background(), tt.token)
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}

	_, err = keyfuncset.New(nil).Key(context.Background(), "x", "")
	assert.ErrorIs(t, err, jwks.ErrUnavailable, "nil keyfunc")
}
