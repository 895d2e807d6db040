package federation

import "github.com/idbridge/idbridge/federation/internal/stsclass"

// The STS providers of the subpackages (federation/samlsts) class their
// failures with this package's table, so that every STS failure has one
// class and one error type.
func init() {
	stsclass.Classify = func(err error, roleARN string) error {
		if err == nil {
			return nil
		}
		return (&assumer{roleARN: roleARN}).classify(err)
	}
}
