package graph

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseMemberObjects: a getMemberObjects body either yields only
// lower-case object IDs or fails with ErrUnavailable, never a panic or a
// partial list.
func FuzzParseMemberObjects(f *testing.F) {
	f.Add([]byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)","value":["4F0C6B1A-8E2D-4C37-9A51-2B7E6D9F0C13","fee2c45b-915a-4a64-b130-f4eb9e75525e"]}`))
	f.Add([]byte(`{"value":[]}`))
	f.Add([]byte(`{"value":null}`))
	f.Add([]byte(`{"value":["x"]}`))
	f.Add([]byte(`{"value":[1]}`))
	f.Add([]byte(`{"value":["4f0c6b1a-8e2d-4c37-9a51-2b7e6d9f0c13"],"@odata.nextLink":"https://graph.microsoft.com/v1.0/x?$skiptoken=a"}`))
	f.Add([]byte(`{"error":{"code":"x"}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := parseMemberObjects(data)
		if err != nil {
			if !errors.Is(err, ErrUnavailable) || ids != nil {
				t.Fatalf("err %v, ids %v", err, ids)
			}
			return
		}
		for _, id := range ids {
			if !guidRe.MatchString(id) || id != strings.ToLower(id) {
				t.Fatalf("id %q", id)
			}
		}
	})
}
