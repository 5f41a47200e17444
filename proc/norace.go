//go:build !race

package proc

const raceEnv = ""
