package accounting

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"aether/internal/accounting/contract"
	"aether/internal/llm"
)

// Starter is the part of the Temporal client the shipper uses.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg any) error
	// DescribeWorkflow tells the shipper's own earlier start of a request
	// from another request's workflow under the same ID.
	DescribeWorkflow(ctx context.Context, workflowID, runID string) (*client.WorkflowExecutionDescription, error)
}

// ShipperConfig tunes the shipper.
type ShipperConfig struct {
	TaskQueue string
	// Coalesce is how long a running request's start is held back hoping
	// its end arrives, so a short request ships as one start carrying
	// everything (default 1s).
	Coalesce time.Duration
	// Workers is the number of concurrent Temporal calls (default 16).
	Workers int
	// CallTimeout bounds one Temporal call (default 10s).
	CallTimeout time.Duration
	// Window bounds the journal entries the shipper holds in memory: read
	// from the journal and not yet delivered (default 4096). The rest of a
	// backlog stays on disk and is read as deliveries make room (issue 11).
	Window int
	// Backlog, when set, reports the workflow tasks waiting in Temporal's
	// task queue. Above MaxBacklog the shipper makes no calls until it
	// falls to half of that: a task that finds a worker waiting is handed
	// over at once, while one that waits is written to Temporal's store
	// and read back, which on the dev server cut recording to a third
	// (BENCHMARKS.md, issue 11). Nil: no such check.
	Backlog func(ctx context.Context) (int64, error)
	// MaxBacklog is the task-queue backlog that holds the shipper back
	// (default 200).
	MaxBacklog int64
}

// readBatch bounds one read from the journal.
const readBatch = 512

// pending is one request's events not yet delivered.
type pending struct {
	id        string
	meta      *llm.RequestMeta
	plan      []llm.Candidate
	firstByte time.Time
	outcome   *llm.Outcome
	seqs      []uint64
	seen      time.Time
	started   bool // a workflow exists for this request
	sentFB    bool // the first byte reached the workflow
	inflight  bool
	retryAt   time.Time
	failures  int
	// conflictWith is set when the request's ID belongs to another
	// request's workflow: that workflow's fingerprint. The request's
	// events are released unrecorded (see ship).
	conflictWith string
}

// ShipperStats are exported as metrics.
type ShipperStats struct {
	Pending       int // requests held in memory: with undelivered events read, or started and not ended
	UnshippedSeqs int // journal entries not yet delivered, on disk or in memory
	InMemory      int // journal entries read and not yet delivered: at most Window
	// OldestAge is the age of the oldest undelivered entry. Entries are
	// read in order, so it is among those in memory whenever any is.
	OldestAge time.Duration
	Calls     uint64 // Temporal calls made
	Errors    uint64 // Temporal calls that failed
	Delivered uint64 // requests fully delivered
	Conflicts uint64 // requests whose ID belonged to another request's workflow
	HeldBack  uint64 // times Temporal's task-queue backlog held shipping back
}

// Shipper delivers journal entries to Temporal, one workflow per request.
type Shipper struct {
	cfg  ShipperConfig
	c    Starter
	j    *Journal
	log  *slog.Logger
	mu   sync.Mutex
	reqs map[string]*pending
	acks *ackQueue
	r    *Reader // owned by Run
	// readNext is r.Next() for Stats.
	readNext atomic.Uint64
	// room is signalled when a delivery frees room in the window.
	room chan struct{}
	// closeAt holds a previous run's requests without an end that still
	// have entries on disk: each is closed as interrupted once its last
	// entry is read.
	closeAt map[string]closing
	work    chan *pending
	stats   ShipperStats
	wg      sync.WaitGroup
	// Shared back-off while Temporal calls fail.
	failing     bool
	failStreak  int
	pausedUntil time.Time
	nowFunc     func() time.Time
	readErrs    int
	// heldBack is set while Temporal's task queue holds more than
	// MaxBacklog tasks (see ShipperConfig.Backlog).
	heldBack atomic.Bool
	// The last checkpoint written: mark, open requests and their
	// fingerprint.
	ckLow  uint64
	ckOpen int
	ckSum  uint64
}

// NewShipper returns a shipper; call Run.
func NewShipper(cfg ShipperConfig, c Starter, j *Journal, log *slog.Logger) *Shipper {
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = 4096
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = 200
	}
	s := &Shipper{cfg: cfg, c: c, j: j, log: log, reqs: map[string]*pending{}, acks: newAckQueue(),
		room: make(chan struct{}, 1), closeAt: map[string]closing{}, work: make(chan *pending, cfg.Workers*4), nowFunc: time.Now}
	s.readNext.Store(j.ShippedSeq() + 1)
	return s
}

// Run ships until ctx ends and the journal is closed and drained of what
// can be delivered.
func (s *Shipper) Run(ctx context.Context) {
	s.recover()
	s.r = s.j.NewReader(s.j.ShippedSeq() + 1)
	defer s.r.Close()
	for range s.cfg.Workers {
		s.wg.Add(1)
		go s.worker(ctx)
	}
	if s.cfg.Backlog != nil {
		s.checkBacklog(ctx) // before a restart's backlog is dispatched
		s.wg.Add(1)
		go s.watchBacklog(ctx)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	checkpoint := time.NewTicker(500 * time.Millisecond)
	defer checkpoint.Stop()
	for {
		s.fill()
		select {
		case <-s.j.Written():
		case <-s.room:
		case <-tick.C:
			s.dispatch(nil)
		case <-checkpoint.C:
			s.checkpoint()
		case <-ctx.Done():
			close(s.work)
			s.wg.Wait()
			s.checkpoint()
			return
		}
	}
}

// watchBacklog reads Temporal's task-queue backlog while the shipper has
// work, and holds shipping back while it is above MaxBacklog.
func (s *Shipper) watchBacklog(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.heldBack.Store(false)
			return
		case <-t.C:
			s.checkBacklog(ctx)
		}
	}
}

func (s *Shipper) checkBacklog(ctx context.Context) {
	if s.Stats().UnshippedSeqs == 0 {
		s.heldBack.Store(false)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	n, err := s.cfg.Backlog(cctx)
	cancel()
	switch {
	case err != nil:
		s.heldBack.Store(false) // the calls themselves find out
	case n > s.cfg.MaxBacklog:
		if !s.heldBack.Swap(true) {
			s.mu.Lock()
			s.stats.HeldBack++
			s.mu.Unlock()
		}
	case n <= s.cfg.MaxBacklog/2:
		s.heldBack.Store(false)
	}
}

// fill reads journal entries while the window has room and hands the
// requests they complete to the workers. Nothing else reads the journal,
// so the entries waiting for Temporal stay on disk, however many.
func (s *Shipper) fill() {
	for {
		s.mu.Lock()
		room := s.cfg.Window - s.acks.unacked
		s.mu.Unlock()
		if room <= 0 {
			return
		}
		skipped := s.r.Skipped
		batch, err := s.r.Read(min(room, readBatch))
		s.readNext.Store(s.r.Next())
		if s.r.Skipped != skipped {
			s.log.Error("accounting: unreadable journal records skipped", "entries", s.r.Skipped-skipped, "next_seq", s.r.Next())
		}
		ids := make([]string, 0, len(batch))
		for _, e := range batch {
			if id := s.add(e); id != "" {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			s.dispatch(ids)
		}
		if err != nil {
			s.mu.Lock()
			report := s.readErrs%600 == 0 // once a minute at the tick's pace
			s.readErrs++
			s.mu.Unlock()
			if report {
				s.log.Error("accounting: cannot read the journal; retrying", "next_seq", s.r.Next(), "error", err)
			}
			return
		}
		if len(batch) == 0 {
			return
		}
	}
}

// recover files what a previous process left behind: the requests the
// checkpoint lists as open (their start was delivered, their end was not)
// and the entries after the checkpoint. A request that has no end can
// never end now (the process serving it is gone), so it is closed as
// failed/interrupted instead of waiting for its deadline; one whose start
// was already delivered is closed by signal, keeping what the workflow
// already holds (first byte, plan).
//
// One pass over the entries finds the requests without an end, holding
// only the requests between their start and their end as it goes (those
// in flight at any moment, and those the crash cut). The entries stay on
// disk: Run reads them through the window, and a cut request is closed
// once its last entry is read, so its start carries everything journaled.
func (s *Shipper) recover() {
	open := s.j.RecoveredOpen()
	from, through := s.j.ShippedSeq()+1, s.j.RecoveredThrough()
	if len(open) == 0 && through < from {
		return
	}
	type unended struct {
		received, firstByte time.Time
		last                uint64 // its last entry after the checkpoint; 0: none
		open                bool   // its start was delivered (the checkpoint lists it)
	}
	cut := map[string]*unended{}
	for _, b := range open {
		var o openRecord
		if err := json.Unmarshal(b, &o); err != nil || o.ID == "" {
			s.log.Error("accounting: unreadable open-request record in the journal checkpoint skipped")
			continue
		}
		cut[o.ID] = &unended{received: o.Received, firstByte: o.FirstByte, open: true}
	}
	r := s.j.NewReader(from)
	for r.Next() <= through {
		batch, err := r.Read(int(min(readBatch, through-r.Next()+1)))
		for _, e := range batch {
			var ev event
			if json.Unmarshal(e.Data, &ev) != nil || ev.ID == "" {
				continue
			}
			if ev.Kind == "finished" {
				delete(cut, ev.ID)
				continue
			}
			u := cut[ev.ID]
			if u == nil {
				u = &unended{}
				cut[ev.ID] = u
			}
			u.last = e.Seq
			if ev.Kind == "started" && ev.Meta != nil {
				u.received = ev.Meta.ReceivedAt
			} else if ev.Kind == "first_byte" && u.firstByte.IsZero() {
				u.firstByte = ev.At
			}
		}
		if err != nil || len(batch) == 0 {
			s.log.Error("accounting: cannot read the journal's backlog to find interrupted requests", "next_seq", r.Next(), "error", err)
			break
		}
	}
	r.Close()
	now := s.nowFunc()
	s.mu.Lock()
	for id, u := range cut {
		out := &llm.Outcome{Status: llm.StatusFailed, ErrorClass: llm.ErrInterrupted, CandidateIndex: -1,
			ErrorMessage: "the gateway stopped before the request ended", FinishedAt: now}
		if !u.received.IsZero() {
			out.Total = now.Sub(u.received)
			if !u.firstByte.IsZero() {
				out.FirstByte = u.firstByte.Sub(u.received)
			}
		}
		if u.last == 0 {
			// No model in the meta: ship signals the existing workflow
			// and never starts one.
			s.reqs[id] = &pending{id: id, meta: &llm.RequestMeta{RequestID: id, ReceivedAt: u.received},
				firstByte: u.firstByte, sentFB: !u.firstByte.IsZero(), started: true, seen: now, outcome: out}
			continue
		}
		s.closeAt[id] = closing{last: u.last, outcome: out, open: u.open, received: u.received, firstByte: u.firstByte}
	}
	s.mu.Unlock()
	s.log.Info("accounting: shipping entries left by a previous run", "entries", through+1-min(from, through+1), "open_requests", len(open), "interrupted_requests", len(cut))
}

// closing is how a previous run's request without an end is closed: with
// outcome, once the entry last is read. open says its start was delivered
// before the checkpoint.
type closing struct {
	last                uint64
	outcome             *llm.Outcome
	open                bool
	received, firstByte time.Time
}

// add files one journal entry under its request and returns the request ID.
func (s *Shipper) add(e Entry) string {
	var ev event
	if err := json.Unmarshal(e.Data, &ev); err != nil || ev.ID == "" {
		s.log.Error("accounting: unreadable journal entry skipped", "seq", e.Seq)
		s.mu.Lock()
		s.acks.push(e.Seq, s.nowFunc())
		s.acks.ack(e.Seq)
		s.mu.Unlock()
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowFunc()
	p := s.reqs[ev.ID]
	c, cut := s.closeAt[ev.ID]
	if p == nil {
		p = &pending{id: ev.ID, seen: now}
		if cut && c.open {
			// Its start was delivered before the checkpoint.
			p.meta = &llm.RequestMeta{RequestID: ev.ID, ReceivedAt: c.received}
			p.started, p.firstByte, p.sentFB = true, c.firstByte, !c.firstByte.IsZero()
		}
		s.reqs[ev.ID] = p
	}
	at := now
	p.seqs = append(p.seqs, e.Seq)
	switch ev.Kind {
	case "started":
		p.meta, p.plan = ev.Meta, ev.Plan
		if ev.Meta != nil && !ev.Meta.ReceivedAt.IsZero() {
			at = ev.Meta.ReceivedAt
		}
	case "first_byte":
		if p.firstByte.IsZero() {
			p.firstByte = ev.At
		}
		at = cmpTime(ev.At, at)
	case "finished":
		if p.outcome == nil {
			p.outcome = ev.Outcome
		}
		if ev.Outcome != nil {
			at = cmpTime(ev.Outcome.FinishedAt, at)
		}
	}
	s.acks.push(e.Seq, at)
	if cut && e.Seq >= c.last {
		// The last entry the previous run wrote for it: close it now.
		if p.outcome == nil {
			p.outcome = c.outcome
		}
		delete(s.closeAt, ev.ID)
	}
	return ev.ID
}

// cmpTime returns t, or def when t is zero.
func cmpTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// dispatch hands ready requests to the workers without ever blocking: the
// loop that drains the journal must keep draining while Temporal is slow or
// down, or the proxy would wait on it. A request is ready when its end is
// known, or when it has run past the coalescing window. ids limits the scan
// to requests a new journal batch touched; nil scans everything (the
// periodic tick). While Temporal is failing, nothing is dispatched until the
// shared back-off passes, so a long outage costs one probing call at a time
// rather than one failing call per queued request.
func (s *Shipper) dispatch(ids []string) {
	if s.heldBack.Load() {
		return // the tick tries again
	}
	now := s.nowFunc()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.pausedUntil) {
		return
	}
	if ids == nil {
		for _, p := range s.reqs {
			if !s.offer(p, now) {
				return
			}
		}
		return
	}
	for _, id := range ids {
		if p := s.reqs[id]; p != nil && !s.offer(p, now) {
			return
		}
	}
}

// offer sends p to a worker if it is due; it returns false when the
// workers are all busy. Callers hold s.mu.
func (s *Shipper) offer(p *pending, now time.Time) bool {
	if p.inflight || now.Before(p.retryAt) {
		return true
	}
	due := p.outcome != nil ||
		(!p.started && now.Sub(p.seen) >= s.cfg.Coalesce) ||
		(!p.sentFB && !p.firstByte.IsZero() && now.Sub(p.firstByte) >= s.cfg.Coalesce)
	if !due {
		return true
	}
	select {
	case s.work <- p:
		p.inflight = true
		if s.failing {
			// While Temporal is failing, probe with one call at a time;
			// its result lifts or extends the pause.
			s.pausedUntil = now.Add(time.Hour)
			return false
		}
		return true
	default:
		return false // workers busy: the next tick continues
	}
}

func (s *Shipper) worker(ctx context.Context) {
	defer s.wg.Done()
	for p := range s.work {
		s.ship(ctx, p)
	}
}

func isAlreadyStarted(err error) bool {
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &as)
}

// ship makes one Temporal call for p and records what it delivered.
//
// A request ID is made by the gateway (a UUIDv7) and names one request, so
// a start refused with AlreadyStarted normally means this request's own
// workflow exists: a shipper run that crashed before its checkpoint started
// it, or a start whose answer timed out had in fact landed. The remaining
// events then go by signal. Anything else under that ID is another
// request's workflow: delivering to it would overwrite its outcome and
// leave this request unrecorded and uncharged, and counting it delivered
// would let the limiter drop its pending cost (issue 8). The two are told
// apart by contract.Fingerprint (receive time, user and key), kept in the
// workflow's memo at start and read back with DescribeWorkflow.
// A workflow without one predates fingerprints and is taken as the
// request's own.
//
// A conflicting request is never counted delivered and never signalled.
// Nothing can record it under its ID, and holding its events would pin the
// journal for good, so they are released: logged at ERROR in full (IDs,
// counts and statuses, never a body), as the last-resort record, and
// counted in Stats().Conflicts (aether_ship_conflicts_total). Its later
// events in this run are released the same way.
func (s *Shipper) ship(ctx context.Context, p *pending) {
	s.mu.Lock()
	if p.conflictWith != "" {
		p.inflight = false
		s.releaseConflict(p, len(p.seqs))
		s.mu.Unlock()
		s.freed()
		return
	}
	if p.meta == nil {
		// Only later events survived (the start was delivered before a
		// restart): signal the workflow, which must exist.
		p.started = true
		p.meta = &llm.RequestMeta{RequestID: p.id}
	}
	meta, plan, firstByte, outcome, started := *p.meta, p.plan, p.firstByte, p.outcome, p.started
	covered := append([]uint64(nil), p.seqs...)
	s.mu.Unlock()

	wid := contract.WorkflowID(meta.RequestID)
	input := contract.RequestInput{Meta: meta, Plan: plan, FirstByteAt: firstByte, Outcome: outcome}
	attrs, memo := contract.StartOptions(input)
	opts := client.StartWorkflowOptions{
		ID:                    wid,
		TaskQueue:             s.cfg.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		// A request ID names exactly one request: never start it twice.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    attrs,
		Memo:                                     memo,
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CallTimeout)
	defer cancel()
	// The request's span, journaled as a traceparent, is the parent of the
	// start: the client's tracing interceptor (when tracing is on) puts it
	// in the workflow's header, so the workflow joins the request's trace.
	cctx = withTraceParent(cctx, meta.TraceParent)
	var err error
	delivered, conflict, theirs := false, false, ""
	if !started {
		// By the registered type name: the API never links the workflow.
		_, err = s.c.ExecuteWorkflow(cctx, opts, contract.RequestWorkflow, input)
		if err == nil {
			delivered = true
		} else if isAlreadyStarted(err) {
			if theirs, err = s.fingerprint(cctx, wid); err == nil {
				if theirs == "" || theirs == contract.Fingerprint(meta) {
					started = true // ours, from an earlier call: deliver the rest by signal
				} else {
					conflict = true
				}
			}
		}
	}
	if started && !delivered {
		ev := contract.Event{FirstByteAt: firstByte, Outcome: outcome}
		if meta.Model == "" {
			err = s.c.SignalWorkflow(cctx, wid, "", contract.SignalEvents, ev)
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				err = nil // closed and gone: delivered long ago
			}
		} else {
			_, err = s.c.SignalWithStartWorkflow(cctx, wid, contract.SignalEvents, ev, opts, contract.RequestWorkflow, input)
		}
		if isAlreadyStarted(err) {
			// The workflow already closed: everything was delivered before.
			err = nil
		}
		delivered = err == nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.freed()
	s.stats.Calls++
	p.inflight = false
	if conflict {
		s.stats.Conflicts++
		// Later events are due only with the outcome (see offer).
		p.conflictWith, p.started, p.sentFB = theirs, true, true
		s.releaseConflict(p, len(covered))
		return
	}
	if !delivered {
		s.stats.Errors++
		p.failures++
		p.retryAt = s.nowFunc().Add(min(time.Duration(1<<min(p.failures, 6))*100*time.Millisecond, 5*time.Second))
		s.failStreak++
		s.failing = true
		s.pausedUntil = s.nowFunc().Add(min(time.Duration(1<<min(s.failStreak, 6))*100*time.Millisecond, 5*time.Second))
		if s.failStreak == 1 || s.failStreak%20 == 0 {
			s.log.Warn("accounting: Temporal call failed; shipping paused and retried with back-off (the journal keeps every event)",
				"request_id", meta.RequestID, "consecutive_failures", s.failStreak, "error", err)
		}
		return
	}
	if s.failing {
		s.log.Info("accounting: Temporal reachable again; draining the journal", "pending_requests", len(s.reqs))
		s.failing, s.failStreak, s.pausedUntil = false, 0, time.Time{}
	}
	p.failures = 0
	p.started = true
	if !firstByte.IsZero() {
		p.sentFB = true
	}
	for _, seq := range covered {
		s.acks.ack(seq)
	}
	p.seqs = p.seqs[len(covered):]
	if outcome != nil {
		delete(s.reqs, p.id)
		s.stats.Delivered++
		for _, seq := range p.seqs { // events that arrived during the call: duplicates now
			s.acks.ack(seq)
		}
	}
}

// freed wakes Run to read more: a delivery may have made room.
func (s *Shipper) freed() {
	select {
	case s.room <- struct{}{}:
	default:
	}
}

// Stats returns the shipper's counters.
func (s *Shipper) Stats() ShipperStats {
	durable, next := s.j.DurableSeq(), s.readNext.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Pending = len(s.reqs)
	st.InMemory = s.acks.unacked
	st.UnshippedSeqs = s.acks.unacked
	if durable >= next {
		st.UnshippedSeqs += int(durable - next + 1)
	}
	if t, ok := s.acks.oldest(); ok {
		st.OldestAge = s.nowFunc().Sub(t)
	}
	return st
}

// withTraceParent returns ctx carrying the remote span context of a W3C
// traceparent; ctx itself when there is none.
func withTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
