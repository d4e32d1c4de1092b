// Package accounting carries each request's events from the proxy to the
// durable record: the proxy hands them to a local journal, and a shipper
// delivers them to Temporal, one workflow per request, which writes them
// to Postgres. The hot path never waits on Temporal or Postgres.
//
// # The event flow
//
//	proxy (internal/proxy)           Started, FirstByte, Finished
//	  │
//	  ▼
//	Recorder (recorder.go)           one JSON event per call
//	  │
//	  ▼
//	Journal (journal.go,             segment files; one writer, group
//	  │      segments.go)            commit: one write + fsync per batch
//	  ▼
//	Reader (reader.go)               reads the files back in order, a
//	  │                              bounded batch at a time
//	  ▼
//	Shipper (shipper.go,             merges a request's events; one
//	  │      checkpoint.go,          Temporal call per request at a time;
//	  │      conflict.go)            checkpoint and ID conflicts
//	  ▼
//	accounting/contract              workflow name, signal, payloads,
//	  │                              search attributes, workflow ID
//	  ▼
//	workflow (workflows/request.go)  one per request, ID = request ID
//	  │                              (runs in the worker)
//	  ▼
//	activities (activities/)         RecordProgress, RecordFinal
//	  │
//	  ▼
//	Postgres (internal/store)        the request row, attempts, spend
//
// Everything above the contract runs in the API process; the workflow
// and the activities run in the worker. The API reaches them only through
// the contract, by the workflow's registered name, and never links their
// code.
//
// # The journal
//
// Journal is an append-only log of segment files with one writer goroutine
// doing group commits (one write and one fsync per batch). Starts and
// later events are treated differently:
//
//   - A start event is refused while the journal is failing or too far
//     behind (MaxUnwritten), so a bounded number of events waits in memory
//     whatever the backlog. With Recorder.Durable (fail-closed accounting)
//     the request waits for the start's own group commit before anything
//     reaches its client: a request is served only once its record
//     exists, and a start whose write failed is dropped and answered with
//     ErrJournalFailed (the request gets 503 and leaves no record). The
//     wait overlaps the upstream call (issue 11 §5): Start returns at once
//     with a wait function, the proxy calls the upstream, and calls wait
//     before its first write to the client. The trade: when the write
//     fails, the upstream attempt is cancelled at once, but the upstream
//     may already have done, and billed, some work for a refused request
//     (counted in aether_refusals_total{reason="journal_after_upstream"}
//     and logged). That happens only to the requests whose starts were
//     in flight when the disk failed, and to the one probe at a time
//     described below: other new starts are refused before any upstream
//     call while the journal is failing.
//   - A later event (first byte, end) of an accepted request is always
//     taken, never blocks, and is retried until the disk accepts it. At
//     shutdown, what the disk still refuses after CloseRetry is logged in
//     full at ERROR as its only record, and counted. A process killed
//     before its writer wrote such an event loses it: a stream killed
//     within that moment of its first byte is closed without one.
//
// While failing, the journal lets one start through whenever nothing else
// waits for the disk; that write is the probe that finds the disk working
// again.
//
// # A backlog stays on disk
//
// The writer hands nothing to the shipper: it advances the durable mark
// and signals Written. The shipper reads the segment files through a
// Reader from the checkpoint on, and only while it holds fewer than
// ShipperConfig.Window (4096) undelivered entries; each delivery makes
// room for more. While Temporal is down, the window fills and reading
// stops, so the shipper's memory is the same for a backlog of a thousand
// requests or of a million (issue 11; numbers in BENCHMARKS.md); the
// journal's size on disk is what grows, capped by MaxBytes. The window
// counts undelivered entries, not open requests: a long stream's delivered
// start leaves the window at once, so streams cannot fill it. Reads come
// from the page cache when the shipper keeps up. A request Temporal keeps
// refusing while others go through holds the checkpoint back, not the
// window: behind it the shipper keeps 16 bytes per entry read.
//
// When ShipperConfig.Backlog is set (the API asks Temporal for its
// workflow task queue's backlog), the shipper makes no call while more
// than MaxBacklog tasks wait there, until half of them are taken. A task
// that finds a worker polling is handed over at once; one that waits is
// written to Temporal's store and read back, and a drain that floods the
// queue records slower than one that keeps pace with the workers.
//
// # Checkpoint and open requests
//
// The shipper writes a checkpoint: the sequence number below which every
// entry was delivered, and one line per request whose start was delivered
// but whose end was not (the requests it holds as started). Entries below
// the checkpoint are never read again and their segments are deleted, so
// the checkpoint never waits for a long stream to end, and shipped space
// is reclaimed: a segment is deleted once it is wholly below the
// checkpoint, and a fully shipped current segment past ReclaimBytes is
// replaced by a new one.
//
// After a crash, the next process reads the checkpoint's open requests,
// then makes one streaming pass over the entries after it that keeps only
// the requests started and not yet ended (those in flight at any moment:
// the pass never holds the backlog). Every request without an end is
// closed as failed/interrupted: one whose start was delivered by signal to
// its existing workflow (never a new start), keeping the first byte the
// workflow already holds; one whose start was not delivered by a start
// that carries everything journaled. A cut request with entries after the
// checkpoint is closed when the shipper reads its last one; the backlog
// itself is shipped through the window like any other. The checkpoint is
// rewritten when its mark or its set of open requests changes; its size
// is proportional to the requests in flight, held in memory by the
// shipper anyway. Its format is unchanged by issue 11.
package accounting
