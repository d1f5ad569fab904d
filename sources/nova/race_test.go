//go:build race

package nova

const raceEnabled = true
