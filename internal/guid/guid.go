// Package guid recognises the GUIDs Microsoft Entra ID uses for tenant,
// application and object IDs.
package guid

// Valid reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form, as
// Entra writes tenant and client IDs (either case).
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
