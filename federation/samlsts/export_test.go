package samlsts

// Pairs parses the Role attribute values, for the tests.
func Pairs(values []string) []pair { return pairs(values) }
