package worker

// What a run is given and what follows its failure: the environment, the
// retry delay with its jitter, and exit codes that are not retried.

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/queuectl/queuectl/internal/config"
	"github.com/queuectl/queuectl/internal/job"
)

// backoff returns the wait after the n-th failed run:
// min(backoff_max, retry_delay × backoff_base^n) seconds.
func backoff(c *config.Config, n int) time.Duration {
	s := c.RetryDelay * math.Pow(c.BackoffBase, float64(n))
	if math.IsInf(s, 0) || math.IsNaN(s) || s > c.BackoffMax {
		s = c.BackoffMax
	}
	return config.Seconds(s)
}

// retryDelay returns the wait after the n-th failed run: the backoff,
// times a random factor in [1, 1 + backoff_jitter), so that jobs that
// failed together are not retried together, and never earlier than the
// backoff says.
func retryDelay(c *config.Config, n int) time.Duration {
	return jittered(backoff(c, n), c.BackoffJitter, rand.Float64())
}

// jittered returns d times 1 + jitter × r, for r in [0, 1).
func jittered(d time.Duration, jitter, r float64) time.Duration {
	if jitter <= 0 || d <= 0 {
		return d
	}
	f := float64(d) * (1 + jitter*r)
	if f >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return max(time.Duration(f), d)
}

// noRetry says why a failure with exitCode is not to be retried: its code
// is in the job's no_retry_on or in no_retry_exit_codes; "" if it is to be
// retried.
func noRetry(c *config.Config, j *job.Job, exitCode *int) string {
	switch {
	case exitCode == nil:
		return ""
	case slices.Contains(j.NoRetryOn, *exitCode):
		return fmt.Sprintf("not retried: exit code %d is in the job's no_retry_on", *exitCode)
	case c.NoRetry.Has(*exitCode):
		return fmt.Sprintf("not retried: exit code %d is in no_retry_exit_codes", *exitCode)
	}
	return ""
}

// jobEnv returns a job's env as NAME=VALUE entries, sorted by name.
func jobEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
