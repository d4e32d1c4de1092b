package contract

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"aether/internal/llm"
)

// TestSearchAttributes: the names and types users query by (README) and
// deployments register (docker-compose.temporal.yml) are derived from the
// typed keys the workflow sets.
func TestSearchAttributes(t *testing.T) {
	want := []SearchAttribute{
		{"AetherUser", "Keyword"}, {"AetherAPIKey", "Keyword"}, {"AetherModel", "Keyword"},
		{"AetherProvider", "Keyword"}, {"AetherFormat", "Keyword"}, {"AetherStream", "Bool"},
		{"AetherStatus", "Keyword"}, {"AetherCostUSD", "Double"}, {"AetherTotalTokens", "Int"},
		{"AetherCorrelationID", "Keyword"},
		{"AetherWebSocket", "Bool"},
	}
	if !slices.Equal(SearchAttributes, want) {
		t.Fatalf("SearchAttributes = %v, want %v", SearchAttributes, want)
	}
}

// TestPayloadShape: the start input and the signal are recorded in
// workflow histories as JSON; their field names must not change.
func TestPayloadShape(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := json.Marshal(Event{FirstByteAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"FirstByteAt":"2026-01-02T03:04:05Z","Outcome":null}`; got != want {
		t.Fatalf("Event JSON = %s, want %s", got, want)
	}
	var keys map[string]json.RawMessage
	b, _ = json.Marshal(RequestInput{Meta: llm.RequestMeta{RequestID: "r"}})
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Meta", "Plan", "FirstByteAt", "Outcome"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("RequestInput JSON lacks %q: %s", k, b)
		}
	}
	if len(keys) != 4 {
		t.Errorf("RequestInput JSON has %d fields, want 4: %s", len(keys), b)
	}
}

func TestStartState(t *testing.T) {
	plan := []llm.Candidate{{Index: 0, Provider: "a"}, {Index: 1, Provider: "b"}, {Index: 2, Provider: "c", SkippedReason: "breaker_open"}}
	in := RequestInput{Meta: llm.RequestMeta{RequestID: "r", Model: "m"}, Plan: plan}
	if st := StartState(in); st.Status != llm.StatusPending || st.Provider != "" {
		t.Fatalf("not started: %+v", st)
	}
	in.Outcome = &llm.Outcome{Status: llm.StatusCompleted, CandidateIndex: 1, Attempts: make([]llm.Attempt, 2)}
	if st := StartState(in); st.Status != llm.StatusCompleted || st.Provider != "b" || st.Attempts != 2 {
		t.Fatalf("ended: %+v", st)
	}
	if id := WorkflowID("0190f3c2-7d1e-7000-8000-000000000001"); id != "0190f3c2-7d1e-7000-8000-000000000001" {
		t.Fatalf("WorkflowID = %q", id)
	}
}
