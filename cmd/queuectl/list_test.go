package main

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/queuectl/queuectl/internal/job"
)

// TestWriteJobsMatchesEncodingJSON checks the hand-written list --json
// encoder against encoding/json, which it replaces.
func TestWriteJobsMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 59, 0, 123456789, time.UTC)
	later := now.Add(time.Hour)
	code := 3
	views := [][]jobView{
		nil,
		{{ID: "bad.json", State: "rejected", LastError: "not a JSON object: <&> \"x\"\n"}},
		{
			{ID: "a", State: "pending", Command: "echo 'hi' && <x> \u2028 caf\xe9", MaxRetries: 3, CreatedAt: &now, UpdatedAt: &now},
			{ID: "b", State: "done", Command: "x", Dir: "/tmp", MaxRetries: 0, Priority: -5, Timeout: 1.5e-7,
				RunAt: &later, Attempts: 2, CreatedAt: &now, UpdatedAt: &later, StartedAt: &now, FinishedAt: &later,
				Worker: "w-1", LastError: "exit status 1\t", ExitCode: &code, Output: "out\x00put\n"},
			{ID: "c", State: "failed", Command: "x", Timeout: 1e21},
			{ID: "d", State: "dead", Command: "x", Env: map[string]string{"B": "2", "A": "<1>"}, After: []string{"a", "b"},
				UniqueKey: "nightly", NoRetryOn: []int{2, 64}, Interrupts: 2, History: []job.Run{
					{Attempt: 1, StartedAt: now, FinishedAt: later, Worker: "w-1", ExitCode: &code, Error: "exit status 3"},
					{Attempt: 2, Worker: "w-2", Error: "stopped: the run is not counted", Stopped: true},
				}},
		},
	}
	for _, v := range views {
		var got, want bytes.Buffer
		if err := writeJobs(&got, v); err != nil {
			t.Fatal(err)
		}
		if v == nil {
			v = []jobView{}
		}
		if err := writeJSON(&want, v); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("writeJobs:\n%s\nencoding/json:\n%s", got.Bytes(), want.Bytes())
		}
	}
	if err := writeJobs(&bytes.Buffer{}, []jobView{{Timeout: math.NaN()}}); err == nil {
		t.Error("writeJobs wrote a NaN")
	}
}

func TestIDSafe(t *testing.T) {
	for in, want := range map[string]string{
		"myhost":        "myhost",
		"my host.local": "my-host.local",
		"héllo wörld!!": "h-llo-w-rld-",
		"a//b__c":       "a-b__c",
		"":              "",
		"日本":            "-",
	} {
		if got := idSafe(in); got != want {
			t.Errorf("idSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
