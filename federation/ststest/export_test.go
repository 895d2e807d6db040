package ststest

// Status is the HTTP status AWS answers an STS error code with, for the
// tests of the wire format.
var Status = status
