package jwks

// CacheLen exposes the number of verified-token cache entries to tests.
func CacheLen(v *Validator) int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}
