package jwt

import (
	"testing"

	"github.com/idbridge/idbridge"
)

func TestDecodeHeaderDuplicates(t *testing.T) {
	var h idbridge.Header
	if _, detail := DecodeHeader(`{"alg":"RS256","x5u":"a","x5u":"b"}`, &h); detail == "" {
		t.Error("duplicate header parameter accepted")
	}
}
