package jwks

func rawClaim(payload, name string) (string, bool) { return "", false }
