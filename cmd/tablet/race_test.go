//go:build race

package main

// The tests run with -race: build the tablet binary with it too, so that
// the integration tests check the real process for races.
func init() { raceBuild = true }
