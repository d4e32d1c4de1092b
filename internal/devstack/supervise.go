package devstack

import (
	"context"
	"fmt"
	"os"
	"time"
)

// restartPolicy: a child that exits on its own is started again after a
// back-off that doubles from first to max and starts over once the child
// has run for reset. A child that would need more than limit restarts
// within window is left down, and the stack stops (Wait returns the error).
type restartPolicy struct {
	first, max, reset time.Duration
	limit             int
	window            time.Duration
}

var defaultRestartPolicy = restartPolicy{first: 500 * time.Millisecond, max: 30 * time.Second, reset: time.Minute, limit: 5, window: 5 * time.Minute}

// child is one supervised process of the stack.
type child struct {
	name string
	log  string // the child's own log file
	// done is closed when the current run exits; exit says how it ended.
	done func() <-chan struct{}
	exit func() string
	pid  func() int
	// restart starts the child again, swaps it in under Stack.mu, and
	// waits until it is healthy. done, exit and pid are called under
	// Stack.mu.
	restart func(ctx context.Context) error
}

// supervise watches every child until ctx ends, restarting those that
// exit. Called once the stack is up.
func (s *Stack) supervise(ctx context.Context) {
	for _, c := range s.children {
		s.superWG.Go(func() { s.watch(ctx, c) })
	}
}

func (s *Stack) watch(ctx context.Context, c *child) {
	pol := s.policy
	var restarts []time.Time
	backoff := pol.first
	s.mu.Lock()
	done, started := c.done(), time.Now()
	s.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
		}
		if ctx.Err() != nil {
			return // stopping: the exit was asked for
		}
		now := time.Now()
		if now.Sub(started) >= pol.reset {
			backoff = pol.first
		}
		for len(restarts) > 0 && now.Sub(restarts[0]) > pol.window {
			restarts = restarts[1:]
		}
		s.mu.Lock()
		how := c.exit()
		s.mu.Unlock()
		if len(restarts) >= pol.limit {
			err := fmt.Errorf("%s exited (%s) and was already restarted %d times in %s; leaving it down (log: %s)", c.name, how, len(restarts), pol.window, c.log)
			s.note(c, err.Error())
			select {
			case s.failed <- err:
			default:
			}
			return
		}
		restarts = append(restarts, now)
		s.note(c, fmt.Sprintf("%s exited unexpectedly (%s); restarting it in %s (restart %d; at most %d in %s)",
			c.name, how, backoff, len(restarts), pol.limit, pol.window))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, pol.max)
		err := c.restart(ctx)
		s.mu.Lock()
		done, started = c.done(), time.Now()
		pid := c.pid()
		s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.note(c, fmt.Sprintf("%s did not come back: %v", c.name, err))
			continue // done is closed: counts as another exit
		}
		s.note(c, fmt.Sprintf("%s is running again (pid %d)", c.name, pid))
	}
}

// note tells the terminal and the child's own log what the supervisor did.
func (s *Stack) note(c *child, msg string) {
	s.say("devstack: %s", msg)
	if f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(f, "%s devstack: %s\n", time.Now().UTC().Format(time.RFC3339Nano), msg)
		f.Close()
	}
}

// Pid returns the process ID of a running child of the stack ("postgres",
// "temporal", "fakeupstream", "worker", "api"), or 0.
func (s *Stack) Pid(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.children {
		if c.name == name {
			return c.pid()
		}
	}
	return 0
}
