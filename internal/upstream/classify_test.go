package upstream

import (
	"os"
	"testing"

	"aether/internal/breaker"
	"aether/internal/llm"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   llm.ErrorClass
	}{
		{"provider key rejected", 401, `{"error":{"type":"authentication_error"}}`, llm.ErrUpstreamAuth},
		{"provider key forbidden", 403, ``, llm.ErrUpstreamAuth},
		{"rate limited", 429, `{"error":{"type":"rate_limit_error"}}`, llm.ErrRateLimited},
		{"overloaded", 529, `{"type":"error","error":{"type":"overloaded_error"}}`, llm.ErrUpstreamServer},
		{"server error", 500, ``, llm.ErrUpstreamServer},
		{"request timeout", 408, ``, llm.ErrUpstreamServer},
		{"openai invalid request", 400, `{"error":{"message":"bad","type":"invalid_request_error"}}`, llm.ErrClientRequest},
		{"anthropic prompt too long", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens"}}`, llm.ErrClientRequest},
		{"openai context length", 400, `{"error":{"code":"context_length_exceeded"}}`, llm.ErrClientRequest},
		{"gemini invalid argument", 400, `{"error":{"code":400,"status":"INVALID_ARGUMENT"}}`, llm.ErrClientRequest},
		{"content policy", 400, `{"error":{"code":"content_policy_violation"}}`, llm.ErrClientRequest},
		{"unsupported parameter fails over", 400, `{"error":{"message":"Unsupported parameter: 'reasoning_effort' is not supported with this model.","type":"invalid_request_error"}}`, llm.ErrUpstreamUnsupported},
		// The compatibility patterns match free text, which may be the
		// client's own: such a 400 is upstream_unsupported, which fails
		// over but is never held against the key (TestJudge).
		{"quoted compatibility text", 400, `{"error":{"message":"Invalid 'messages[0].content': 'this model does not exist'","type":"invalid_request_error"}}`, llm.ErrUpstreamUnsupported},
		{"unknown model at provider fails over", 404, `{"error":{"code":"model_not_found"}}`, llm.ErrUpstreamOther},
		{"opaque 400 fails over", 400, `oops`, llm.ErrUpstreamOther},
		{"too large", 413, ``, llm.ErrClientRequest},
		{"payment required", 402, ``, llm.ErrUpstreamAccount},
		{"gemini key-not-found message with reason", 400, `{"error":{"code":400,"message":"API Key not found. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, llm.ErrUpstreamAuth},
		// Error messages quote the request: a client's own text that reads
		// like a key fault must not open the breakers.
		{"quoted billing text stays the client's", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"messages.0.content.0: unexpected tag 'Your credit balance is too low'"}}`, llm.ErrClientRequest},
		{"quoted gemini reason stays the client's", 400, `{"error":{"code":400,"message":"Invalid value at 'contents[0].parts[0]' (API_KEY_INVALID FAILED_PRECONDITION)","status":"INVALID_ARGUMENT"}}`, llm.ErrClientRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyStatus(tt.status, []byte(tt.body)); got != tt.want {
				t.Fatalf("ClassifyStatus(%d, %s) = %s, want %s", tt.status, tt.body, got, tt.want)
			}
		})
	}
}

// TestClassifyFixtures classifies real provider error bodies (see
// testdata/SOURCES.md). A key or account fault fails over and counts
// against the key; a request fault goes back to the client.
func TestClassifyFixtures(t *testing.T) {
	for file, want := range map[string]llm.ErrorClass{
		"gemini_api_key_invalid.json":           llm.ErrUpstreamAuth,
		"gemini_api_key_expired.json":           llm.ErrUpstreamAuth,
		"gemini_api_key_invalid_stream.json":    llm.ErrUpstreamAuth,
		"gemini_free_tier_billing.json":         llm.ErrUpstreamAccount,
		"gemini_location_unsupported.json":      llm.ErrUpstreamAccount,
		"gemini_location_without_billing.json":  llm.ErrUpstreamAccount,
		"anthropic_credit_balance_too_low.json": llm.ErrUpstreamAccount,
		"anthropic_organization_disabled.json":  llm.ErrUpstreamAccount,
		"anthropic_prompt_too_long.json":        llm.ErrClientRequest,
		"gemini_empty_parts.json":               llm.ErrClientRequest,
	} {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			got := ClassifyStatus(400, body)
			if got != want {
				t.Fatalf("ClassifyStatus(400, %s) = %s, want %s", file, got, want)
			}
			keyFault := want != llm.ErrClientRequest
			if v := Judge(got, false); v.FailOver != keyFault || (v.Breaker == breaker.Failure) != keyFault {
				t.Fatalf("%s: verdict %+v; want fail over and count against the key: %v", got, v, keyFault)
			}
		})
	}
}

func TestLooksLikeHTML(t *testing.T) {
	if !LooksLikeHTML("text/html; charset=utf-8", nil) || !LooksLikeHTML("application/json", []byte("\n<!DOCTYPE html><html>")) {
		t.Fatal("HTML not detected")
	}
	if LooksLikeHTML("application/json", []byte(`{"a":"<html>"}`)) {
		t.Fatal("JSON taken for HTML")
	}
}

// TestJudge is the verdict table: for every class, before and after the
// commit point, whether the request fails over, what the key's breaker
// counts, and whether the caller's affinity leaves the key.
func TestJudge(t *testing.T) {
	const (
		S = breaker.Success
		I = breaker.Ignored
		F = breaker.Failure
	)
	type v = Verdict
	tests := []struct {
		class     llm.ErrorClass
		committed bool
		want      Verdict
	}{
		{llm.ErrNone, true, v{llm.OutcomeSuccess, false, S, false}},
		// Before the commit point.
		{llm.ErrClientRequest, false, v{llm.OutcomeClientError, false, I, false}},
		{llm.ErrClientCancelled, false, v{llm.OutcomeCancelled, false, I, false}},
		{llm.ErrShutdown, false, v{llm.OutcomeCancelled, true, I, false}}, // the loop stops on the request's context
		{llm.ErrUpstreamUnsupported, false, v{llm.OutcomeFailed, true, I, true}},
		{llm.ErrConnect, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrTimeout, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrFirstByte, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrRateLimited, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrUpstreamServer, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrUpstreamAuth, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrUpstreamAccount, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrHTMLPage, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrEmbedded, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrUpstreamOther, false, v{llm.OutcomeFailed, true, F, true}},
		{llm.ErrStreamCut, false, v{llm.OutcomeFailed, true, F, true}}, // closed before any event
		// After the commit point: never fail over.
		{llm.ErrClientCancelled, true, v{llm.OutcomeCancelled, false, I, false}},
		{llm.ErrShutdown, true, v{llm.OutcomeCancelled, false, I, false}},
		{llm.ErrStreamCut, true, v{llm.OutcomeFailed, false, I, false}},
		{llm.ErrUpstreamStreamError, true, v{llm.OutcomeFailed, false, F, true}},
		{llm.ErrStreamTruncated, true, v{llm.OutcomeFailed, false, F, true}},
	}
	for _, tt := range tests {
		if got := Judge(tt.class, tt.committed); got != tt.want {
			t.Errorf("Judge(%q, committed=%v) = %+v, want %+v", tt.class, tt.committed, got, tt.want)
		}
	}
}

func TestClassifyResponse(t *testing.T) {
	for _, tt := range []struct {
		status      int
		contentType string
		body        string
		want        llm.ErrorClass
	}{
		{400, "text/html", `{"error":{"type":"invalid_request_error"}}`, llm.ErrHTMLPage},
		{502, "", "<!DOCTYPE html><html>bad gateway</html>", llm.ErrHTMLPage},
		{400, "application/json", `{"error":{"type":"invalid_request_error"}}`, llm.ErrClientRequest},
		{503, "application/json", ``, llm.ErrUpstreamServer},
	} {
		if got := ClassifyResponse(tt.status, tt.contentType, []byte(tt.body)); got != tt.want {
			t.Errorf("ClassifyResponse(%d, %q, %s) = %s, want %s", tt.status, tt.contentType, tt.body, got, tt.want)
		}
	}
}

func TestClassifyStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop Stop
		want llm.ErrorClass
	}{
		{"connection refused", Stop{}, llm.ErrConnect},
		{"no headers in time", Stop{WaitExpired: true}, llm.ErrTimeout},
		{"no first event in time", Stop{WaitExpired: true, Stream: true}, llm.ErrFirstByte},
		{"wait expired, then the client left", Stop{WaitExpired: true, Ended: true}, llm.ErrTimeout},
		{"client left before the answer", Stop{Ended: true}, llm.ErrClientCancelled},
		{"request deadline before the answer", Stop{Ended: true, Deadline: true}, llm.ErrTimeout},
		{"shutdown before the answer", Stop{Ended: true, Shutdown: true}, llm.ErrShutdown},
		{"stream relayed whole", Stop{Committed: true, Stream: true, Complete: true, CleanEnd: true}, llm.ErrNone},
		{"whole stream, client left after", Stop{Committed: true, Stream: true, Complete: true, ClientGone: true}, llm.ErrNone},
		{"error event in the stream", Stop{Committed: true, Stream: true, StreamFailed: true, Complete: true}, llm.ErrUpstreamStreamError},
		{"clean close without terminal event", Stop{Committed: true, Stream: true, CleanEnd: true}, llm.ErrStreamTruncated},
		{"stream cut", Stop{Committed: true, Stream: true}, llm.ErrStreamCut},
		{"client left mid-stream", Stop{Committed: true, Stream: true, ClientGone: true}, llm.ErrClientCancelled},
		{"shutdown mid-stream", Stop{Committed: true, Stream: true, Ended: true, Shutdown: true, ClientGone: true}, llm.ErrShutdown},
		{"body relayed whole", Stop{Committed: true, Complete: true, CleanEnd: true}, llm.ErrNone},
		{"body cut", Stop{Committed: true}, llm.ErrStreamCut},
		{"client left mid-body", Stop{Committed: true, ClientGone: true, CleanEnd: true}, llm.ErrClientCancelled},
		{"request deadline mid-body", Stop{Committed: true, Ended: true, Deadline: true}, llm.ErrStreamCut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClassifyStop(tc.stop); got != tc.want {
				t.Fatalf("ClassifyStop(%+v) = %q, want %q", tc.stop, got, tc.want)
			}
		})
	}
}
