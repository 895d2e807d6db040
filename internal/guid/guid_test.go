package guid

import "testing"

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6c":  true,
		"9B1C3F4E-2A6D-4E8B-B7C1-5D0F2E3A4B6C":  true,
		"9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6":   false,
		"9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b6cc": false,
		"9b1c3f4e+2a6d-4e8b-b7c1-5d0f2e3a4b6c":  false,
		"9b1c3f4g-2a6d-4e8b-b7c1-5d0f2e3a4b6c":  false,
		"{9b1c3f4e-2a6d-4e8b-b7c1-5d0f2e3a4b}":  false,
		"contoso.onmicrosoft.com":               false,
		"":                                      false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v", s, !want)
		}
	}
}
