package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// Case is one command line that ends before a command starts serving, for
// [TestCases].
type Case struct {
	Name     string
	Args     []string
	Status   int    // the exit status main would return
	UsageHas string // in what the flag package printed
	Printed  string // what main prints after it, exactly ("name: err\n")
}

// TestCases runs each case through run and [Status] as main does, and
// checks that -h is never reported as an error. For the examples' tests.
func TestCases(t *testing.T, name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var usage, out bytes.Buffer
			status := Status(&out, name, run(t.Context(), c.Args, &usage, &usage))
			if status != c.Status || out.String() != c.Printed {
				t.Fatalf("status %d, printed %q; want %d, %q", status, out.String(), c.Status, c.Printed)
			}
			if !strings.Contains(usage.String(), c.UsageHas) || strings.Contains(usage.String()+out.String(), "help requested") {
				t.Fatalf("printed %q, want %q", usage.String(), c.UsageHas)
			}
		})
	}
}
