// Package stsclass lets the STS providers of federation's subpackages
// (federation/samlsts) class an STS failure exactly as package federation
// does, into a *federation.Error, without a public function that exists
// only for them. Package federation sets Classify when it is initialised;
// every importer of this package imports federation, so it is set before
// use.
package stsclass

// Classify turns an error of an aws-sdk-go-v2 STS call for roleARN into a
// *federation.Error classed by its STS code; nil stays nil.
var Classify func(err error, roleARN string) error
