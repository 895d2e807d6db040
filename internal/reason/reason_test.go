package reason

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idbridge/idbridge"
)

func TestOf(t *testing.T) {
	errExpired := New(Expired, "jwks: token expired")
	tests := []struct {
		name string
		err  error
		want idbridge.Reason
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), ""},
		{"sentinel", errExpired, Expired},
		{"wrapped", fmt.Errorf("validate: %w", errExpired), Expired},
		{"joined", errors.Join(errors.New("a"), errExpired), Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of() = %q, want %q", got, tt.want)
			}
		})
	}
	if !errors.Is(fmt.Errorf("w: %w", errExpired), errExpired) {
		t.Fatal("errors.Is must match a wrapped sentinel")
	}
}
