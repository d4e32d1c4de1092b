package store_test

import (
	"context"
	"testing"
	"time"

	"aether/internal/llm"
	"aether/internal/store"
	"aether/internal/testkit/testenv"
)

// TestRequestWebSocketFlag: a request that came on a Responses WebSocket
// is stored as such and shown so by the admin reads; an HTTP one is not.
func TestRequestWebSocketFlag(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Minute)
	for _, ws := range []bool{true, false} {
		id := "ws-false"
		if ws {
			id = "ws-true"
		}
		meta := llm.RequestMeta{RequestID: id, UserID: 1, APIKeyID: 1, Model: "m", Format: llm.FormatOpenAI,
			Operation: llm.OpGenerate, Stream: true, ReceivedAt: at, Deadline: at.Add(time.Minute), WebSocket: ws}
		out := llm.Outcome{Status: llm.StatusCompleted, StatusCode: 200, CandidateIndex: -1, FinishedAt: at.Add(time.Second)}
		if _, err := st.RecordFinal(ctx, store.FinalRecord{Meta: meta, Outcome: out}); err != nil {
			t.Fatal(err)
		}
		d, err := st.GetRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.WebSocket != ws {
			t.Fatalf("%s: detail websocket = %v", id, d.WebSocket)
		}
	}
	list, _, err := st.ListRequests(ctx, store.RequestFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.WebSocket != (r.RequestID == "ws-true") {
			t.Fatalf("list: %s websocket = %v", r.RequestID, r.WebSocket)
		}
	}
	if len(list) != 2 {
		t.Fatalf("%d rows", len(list))
	}
}
