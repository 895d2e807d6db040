package catalog_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/idbridge/idbridge/rbac/catalog"
)

// FuzzRead: a document either reads as a version-1 catalogue that writes
// and compares cleanly, or fails with ErrMalformed or ErrSchemaVersion.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"policy":{"file":"x","version":"y"},"groups":[{"id":"g","name":"G","issuer":"i","grants":[{"mapping":"m","issuer":"i","roles":["r"]}]}],"separation_of_duties":[{"id":"s","roles":["a","b"],"conflicts":[{"roles":["a","b"],"groups":["G"],"in_one_decision":true}]}]}`))
	f.Add([]byte(`{"schema_version":2}`))
	f.Add([]byte(`{"schema_version":"1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.Read(bytes.NewReader(data))
		if err != nil {
			if c != nil || !(errors.Is(err, catalog.ErrMalformed) || errors.Is(err, catalog.ErrSchemaVersion)) {
				t.Fatalf("%v, %v", c, err)
			}
			return
		}
		var b bytes.Buffer
		if err := c.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteConflictsCSV(&b); err != nil {
			t.Fatal(err)
		}
		empty := &catalog.Catalog{SchemaVersion: catalog.SchemaVersion}
		for _, pair := range [][2]*catalog.Catalog{{c, c}, {empty, c}, {c, empty}} {
			d, err := catalog.Compare(pair[0], pair[1])
			if err != nil {
				t.Fatal(err)
			}
			if err := d.WriteText(&b); err != nil {
				t.Fatal(err)
			}
		}
	})
}
