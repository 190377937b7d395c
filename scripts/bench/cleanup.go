package main

import (
	"log"
	"maps"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
)

// Cleanups run however the bench ends: workers stopped, task-spooler
// servers killed, the temporary directory removed. A workload that fails
// midway calls fatalf, which runs them before exiting.
var (
	cleanupMu sync.Mutex
	cleanups  = map[int]func(){}
	cleanupN  int
)

// atExit registers f to run if the bench exits early, and returns a
// function that runs f now (once) and forgets it.
func atExit(f func()) (done func()) {
	var once sync.Once
	run := func() { once.Do(f) }
	cleanupMu.Lock()
	n := cleanupN
	cleanupN++
	cleanups[n] = run
	cleanupMu.Unlock()
	return func() {
		cleanupMu.Lock()
		delete(cleanups, n)
		cleanupMu.Unlock()
		run()
	}
}

// runCleanups runs every registered cleanup, the latest first.
func runCleanups() {
	cleanupMu.Lock()
	keys := slices.Sorted(maps.Keys(cleanups))
	fs := make([]func(), 0, len(keys))
	for _, k := range slices.Backward(keys) {
		fs = append(fs, cleanups[k])
	}
	clear(cleanups)
	cleanupMu.Unlock()
	for _, f := range fs {
		f()
	}
}

// fatalf reports a failure, cleans up and exits.
func fatalf(format string, args ...any) {
	log.Printf(format, args...)
	runCleanups()
	os.Exit(1)
}

// cleanUpOnSignal makes Ctrl-C and SIGTERM clean up too.
func cleanUpOnSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-c
		fatalf("bench: %v: cleaning up", sig)
	}()
}
