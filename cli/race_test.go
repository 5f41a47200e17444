//go:build race

package cli

// The race detector multiplies memory use; RSS limits do not apply.
const raceEnabled = true
