package selfaudit

import "testing"

type quiet struct{}
type loud struct{}

func TestAudits(t *testing.T) {
	defer func(saved []func(any) (bool, bool)) { checks = saved }(checks)
	Register(func(v any) (bool, bool) { _, ok := v.(loud); return ok, ok })
	if !Audits(loud{}) || Audits(quiet{}) || Audits(nil) {
		t.Error("Audits does not follow the registered check")
	}
}
