//go:build race

package proc

// A program built with the race detector waits a second when it exits,
// for late reports; workers would make every Close that slow.
const raceEnv = "GORACE=atexit_sleep_ms=0"
