package llm

import "time"

// Status is a request's usage status. It only moves forward:
// pending -> streaming -> completed | failed | cancelled.
type Status string

// The usage statuses (issue 4), in the order they may be reached.
const (
	StatusPending   Status = "pending"
	StatusStreaming Status = "streaming"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Rank orders statuses so a late or duplicate event never moves a request
// backwards; the three final statuses share the top rank.
func (s Status) Rank() int {
	switch s {
	case StatusPending:
		return 0
	case StatusStreaming:
		return 1
	case StatusCompleted, StatusFailed, StatusCancelled:
		return 2
	}
	return -1
}

// Final reports whether s ends the request.
func (s Status) Final() bool { return s.Rank() == 2 }

// Operation distinguishes billable generation from auxiliary calls.
type Operation string

// Operations. Token counting is forwarded but never billed.
const (
	OpGenerate    Operation = "generate"
	OpCountTokens Operation = "count_tokens"
)

// Candidate is one (provider, endpoint, key) the router may try, or one it
// skipped. It carries IDs and names only: never a secret.
type Candidate struct {
	Index         int    `json:"index"`
	ProviderID    int64  `json:"provider_id"`
	Provider      string `json:"provider"`
	EndpointID    int64  `json:"endpoint_id"`
	KeyID         int64  `json:"key_id"`
	KeyName       string `json:"key_name"`
	UpstreamModel string `json:"upstream_model"`
	// UpstreamAPI names the API the upstream is called with when it differs
	// from the client's (the request is translated, issue 12); empty for
	// passthrough.
	UpstreamAPI   string `json:"upstream_api,omitempty"`
	SkippedReason string `json:"skipped_reason,omitempty"`
	AffinityHit   bool   `json:"affinity_hit,omitempty"`
}

// Attempt is what happened when the proxy tried one candidate.
type Attempt struct {
	CandidateIndex int           `json:"candidate_index"`
	KeyID          int64         `json:"key_id"`
	Outcome        string        `json:"outcome"` // success, failed, cancelled, client_error
	StatusCode     int           `json:"status_code,omitempty"`
	ErrorClass     ErrorClass    `json:"error_class,omitempty"`
	StartedAt      time.Time     `json:"started_at"`
	Latency        time.Duration `json:"latency"`
}

// Attempt outcomes.
const (
	OutcomeSuccess     = "success"
	OutcomeFailed      = "failed"
	OutcomeCancelled   = "cancelled"
	OutcomeClientError = "client_error"
)

// RequestMeta identifies a request and its caller. It is what the request
// workflow is started with: IDs, names and flags, never bodies or keys.
type RequestMeta struct {
	RequestID  string    `json:"request_id"`
	UserID     int64     `json:"user_id"`
	User       string    `json:"user"`
	APIKeyID   int64     `json:"api_key_id"`
	Model      string    `json:"model"`
	Format     Format    `json:"format"`
	Operation  Operation `json:"operation"`
	Stream     bool      `json:"stream"`
	ReceivedAt time.Time `json:"received_at"`
	// Deadline is when the request must have ended; past it the workflow
	// closes the request as failed/interrupted.
	Deadline time.Time `json:"deadline"`
	// CorrelationID is the client's own X-Request-ID, sanitised, or "".
	// It is only a label: the gateway never uses it as an identifier.
	CorrelationID string `json:"correlation_id,omitempty"`
	// WebSocket: the request came as a response.create message on a
	// Responses WebSocket rather than as an HTTP request.
	WebSocket bool `json:"websocket,omitempty"`
	// TraceParent is the W3C traceparent of the request's span when the
	// API traces (OTEL_*), so the accounting workflow joins the trace;
	// "" otherwise. It names a trace, nothing of the request's content.
	TraceParent string `json:"traceparent,omitempty"`
}

// Outcome is how a request ended, as the proxy saw it.
type Outcome struct {
	Status         Status        `json:"status"`
	StatusCode     int           `json:"status_code"`
	ErrorClass     ErrorClass    `json:"error_class,omitempty"`
	ErrorMessage   string        `json:"error_message,omitempty"`
	CandidateIndex int           `json:"candidate_index"` // the candidate that answered, or -1
	Usage          Usage         `json:"usage"`
	Attempts       []Attempt     `json:"attempts"`
	FirstByte      time.Duration `json:"first_byte,omitempty"`
	Total          time.Duration `json:"total"`
	FinishedAt     time.Time     `json:"finished_at"`
	// BreakerChanges are the circuit-breaker transitions this request's
	// attempts caused; accounting makes them durable and shared.
	BreakerChanges []BreakerChange `json:"breaker_changes,omitempty"`
}

// Answered returns the candidate that answered the request: the one of
// plan whose Index is CandidateIndex, unless it was skipped. ok is false
// when no candidate answered (CandidateIndex -1) or the plan lacks it.
// plan may be the routing plan's candidates alone or the whole recorded
// plan with the skipped ones after them.
func (o Outcome) Answered(plan []Candidate) (c Candidate, ok bool) {
	for _, c := range plan {
		if c.Index == o.CandidateIndex && c.SkippedReason == "" {
			return c, true
		}
	}
	return Candidate{}, false
}

// BreakerChange is one provider key's breaker moving to State at At. An
// open breaker refuses the key until OpenUntil.
type BreakerChange struct {
	KeyID     int64     `json:"key_id"`
	State     string    `json:"state"` // closed, open, half_open
	At        time.Time `json:"at"`
	OpenUntil time.Time `json:"open_until,omitzero"`
}
