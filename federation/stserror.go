package federation

// ClassifySTSError turns an error of any STS call made through
// aws-sdk-go-v2 into this package's [*Error], classed by the STS code as
// the table in the package doc says (AccessDenied → ErrAccessDenied,
// throttling and 5xx → ErrSTSUnavailable, ...), with the request ID and a
// scrubbed message. Other STS providers of the SDK (federation/samlsts for
// AssumeRoleWithSAML) use it so that every STS failure has one class.
func ClassifySTSError(err error, roleARN string) error {
	if err == nil {
		return nil
	}
	return (&assumer{roleARN: roleARN}).classify(err)
}

// IsTransient reports whether err is an STS or IdP outage that a retry
// can fix without any change (ErrSTSUnavailable, ErrIdPUnavailable).
func IsTransient(err error) bool { return transient(err) }
