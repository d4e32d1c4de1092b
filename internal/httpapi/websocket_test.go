package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"aether/internal/config"
	"aether/internal/llm"
	"aether/internal/testkit/fakeupstream"
	"aether/internal/testkit/gatewaytest"
)

// wsDial opens the Responses WebSocket the way Codex does.
func wsDial(t *testing.T, g *gatewaytest.Gateway, key string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key)
	h.Set("OpenAI-Beta", "responses_websockets=2026-02-06")
	conn, resp, err := websocket.Dial(ctxT(t), strings.Replace(g.URL, "http", "ws", 1)+"/v1/responses", &websocket.DialOptions{HTTPHeader: h})
	if conn != nil {
		conn.SetReadLimit(1 << 20)
		t.Cleanup(func() { _ = conn.CloseNow() })
	}
	return conn, resp, err
}

type wsEvent struct {
	Type     string          `json:"type"`
	Status   int             `json:"status"`
	Error    json.RawMessage `json:"error"`
	Response struct {
		ID    string `json:"id"`
		Usage *struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	} `json:"response"`
	Delta string `json:"delta"`
}

// wsTurn sends one message and reads events up to a terminal one.
func wsTurn(t *testing.T, conn *websocket.Conn, msg string) []wsEvent {
	t.Helper()
	ctx := ctxT(t)
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	var evs []wsEvent
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d events: %v", len(evs), err)
		}
		if typ != websocket.MessageText {
			t.Fatalf("message type %v, want text", typ)
		}
		var ev wsEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatalf("event is not JSON: %q", data)
		}
		evs = append(evs, ev)
		switch ev.Type {
		case "response.completed", "response.failed", "response.incomplete", "error":
			return evs
		}
	}
}

func last(evs []wsEvent) wsEvent { return evs[len(evs)-1] }

const wsCreate = `{"type":"response.create","model":"gpt-4o-mini","input":"hi","store":false,"stream":true}`

// TestWebSocketThreeResponses sends three response.create messages on one
// connection: three completed responses, three records with their own
// request IDs, and previous_response_id passed upstream unchanged without
// the WebSocket-only fields.
func TestWebSocketThreeResponses(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 3, InputTokens: 7, OutputTokens: 5}}})
	conn, resp, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	prev := ""
	for i := range 3 {
		msg := wsCreate
		if prev != "" {
			msg = strings.Replace(msg, `"input"`, `"previous_response_id":"`+prev+`","input"`, 1)
		}
		evs := wsTurn(t, conn, msg)
		if evs[0].Type != "response.created" || last(evs).Type != "response.completed" {
			t.Fatalf("turn %d: events %v .. %v", i, evs[0].Type, last(evs).Type)
		}
		var text string
		for _, ev := range evs {
			text += ev.Delta
		}
		if text != fakeupstream.ExpectedText(3) {
			t.Fatalf("turn %d: text %q", i, text)
		}
		if u := last(evs).Response.Usage; u == nil || u.InputTokens == 0 {
			t.Fatalf("turn %d: no usage in response.completed", i)
		}
		prev = last(evs).Response.ID
	}
	ids := g.Recorder.IDs()
	if len(ids) != 3 {
		t.Fatalf("%d records, want 3: %v", len(ids), ids)
	}
	for _, id := range ids {
		rec := g.Finished(t, id)
		if rec.Outcome.Status != llm.StatusCompleted || rec.Outcome.Usage.TotalTokens() == 0 || !rec.Meta.Stream || !rec.Meta.WebSocket || rec.Meta.Model != "gpt-4o-mini" {
			t.Fatalf("record %s: %+v usage %+v", id, rec.Outcome.Status, rec.Outcome.Usage)
		}
	}
	reqs := g.Fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	for i, r := range reqs {
		body := string(r.Body)
		if r.Method != http.MethodPost || r.Path != "/v1/responses" || strings.Contains(body, `"type"`) || !strings.Contains(body, `"stream":true`) {
			t.Fatalf("upstream request %d: %s %s %s", i, r.Method, r.Path, body)
		}
		if i > 0 && !strings.Contains(body, `"previous_response_id"`) {
			t.Fatalf("upstream request %d lost previous_response_id: %s", i, body)
		}
		if r.Header.Get("Sec-Websocket-Key") != "" || strings.Contains(r.Header.Get("Openai-Beta"), "responses_websockets") {
			t.Fatalf("upstream request %d carries WebSocket headers: %v", i, r.Header)
		}
	}
}

// TestWebSocketFailover: the primary key fails before the first event; the
// backup answers on the same connection and the record shows both attempts.
func TestWebSocketFailover(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-openai-primary": {Status: 500}}}})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	evs := wsTurn(t, conn, wsCreate)
	if last(evs).Type != "response.completed" {
		t.Fatalf("last event %q", last(evs).Type)
	}
	ids := g.Recorder.IDs()
	rec := g.Finished(t, ids[0])
	if rec.Outcome.Status != llm.StatusCompleted || len(rec.Outcome.Attempts) != 2 || rec.Outcome.Attempts[0].ErrorClass != llm.ErrUpstreamServer {
		t.Fatalf("record: %+v", rec.Outcome)
	}
}

// TestWebSocketAllCandidatesFail: after the last candidate the client gets
// an error event in the Responses shape, with status, and the connection
// keeps serving.
func TestWebSocketAllCandidatesFail(t *testing.T) {
	t.Parallel()
	down := fakeupstream.Knobs{Status: 503}
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{ByKey: map[string]fakeupstream.Knobs{"k-openai-primary": down, "k-openai-backup": down}}})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	ev := last(wsTurn(t, conn, wsCreate))
	if ev.Type != "error" || ev.Status != http.StatusServiceUnavailable || !strings.Contains(string(ev.Error), `"message"`) {
		t.Fatalf("event %+v %s", ev, ev.Error)
	}
	rec := g.Finished(t, g.Recorder.IDs()[0])
	if rec.Outcome.Status != llm.StatusFailed {
		t.Fatalf("record %+v", rec.Outcome)
	}
	g.Fake.SetKeyKnobs("k-openai-primary", fakeupstream.Knobs{})
	if ev := last(wsTurn(t, conn, wsCreate)); ev.Type != "response.completed" {
		t.Fatalf("after the error: %q", ev.Type)
	}
}

// TestWebSocketClientCloseCancels: a client gone mid-stream cancels the
// upstream call and the request is recorded cancelled.
func TestWebSocketClientCloseCancels(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Fake: fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 200, ChunkInterval: 20 * time.Millisecond}}})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Write(ctxT(t), websocket.MessageText, []byte(wsCreate)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := conn.Read(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.CloseNow()
	rec := g.Finished(t, g.Recorder.IDs()[0])
	if rec.Outcome.Status != llm.StatusCancelled || rec.Outcome.ErrorClass != llm.ErrClientCancelled {
		t.Fatalf("record %s/%s", rec.Outcome.Status, rec.Outcome.ErrorClass)
	}
}

// TestWebSocketBadKey: a bad or missing key is refused with 401 before the
// upgrade, and nothing is recorded.
func TestWebSocketBadKey(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	for _, key := range []string{"sk-wrong", ""} {
		conn, resp, err := wsDial(t, g, key)
		if err == nil || conn != nil {
			t.Fatalf("key %q: upgraded", key)
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("key %q: response %v", key, resp)
		}
	}
	if n := len(g.Recorder.IDs()); n != 0 {
		t.Fatalf("%d records", n)
	}
	// A GET without Upgrade is not served.
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, g.URL+"/v1/responses", nil)
	req.Header.Set("Authorization", "Bearer "+gatewaytest.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("plain GET: %d", resp.StatusCode)
	}
}

// TestWebSocketMalformedMessage: a message that is not a response.create
// gets an error event with status 400, and the connection still serves.
func TestWebSocketMalformedMessage(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{`{not json`, `{"type":"response.cancel"}`, `{"type":"response.create","input":"hi"}`} {
		ev := last(wsTurn(t, conn, msg))
		if ev.Type != "error" || ev.Status != http.StatusBadRequest || len(ev.Error) == 0 {
			t.Fatalf("%s: %+v", msg, ev)
		}
	}
	if ev := last(wsTurn(t, conn, wsCreate)); ev.Type != "response.completed" {
		t.Fatalf("after errors: %q", ev.Type)
	}
	if n := len(g.Recorder.IDs()); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}

// TestWebSocketWarmup: Codex's generate:false prewarm is answered locally,
// never sent upstream nor recorded.
func TestWebSocketWarmup(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	evs := wsTurn(t, conn, `{"type":"response.create","model":"gpt-4o-mini","generate":false,"input":[]}`)
	if len(evs) != 2 || evs[0].Type != "response.created" || evs[1].Type != "response.completed" || evs[1].Response.ID == "" {
		t.Fatalf("events %+v", evs)
	}
	if g.Fake.Count() != 0 || len(g.Recorder.IDs()) != 0 {
		t.Fatalf("warmup went upstream (%d) or was recorded", g.Fake.Count())
	}
}

// TestWebSocketPingAndIdle: the gateway answers pings, and closes an idle
// connection after AETHER_WEBSOCKET_IDLE_TIMEOUT.
func TestWebSocketPingAndIdle(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{Config: func(c *config.Config) { c.WebSocketIdleTimeout = 500 * time.Millisecond }})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	// Ping needs a reader to see the pong.
	readErr := make(chan error, 1)
	go func() { _, _, err := conn.Read(context.Background()); readErr <- err }()
	pctx, cancel := context.WithTimeout(ctxT(t), 2*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	select {
	case err := <-readErr:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
			t.Fatalf("idle close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("idle connection not closed")
	}
}

// TestWebSocketShutdown: at shutdown, a response in flight ends normally
// and its connection then closes with 1001 (going away); an idle
// connection closes with 1001 at once. A response still running at the
// drain deadline is cut, recorded failed/shutdown, and closed with 1001.
func TestWebSocketShutdown(t *testing.T) {
	t.Parallel()
	closeCode := func(t *testing.T, conn *websocket.Conn) websocket.StatusCode {
		t.Helper()
		for {
			if _, _, err := conn.Read(ctxT(t)); err != nil {
				return websocket.CloseStatus(err)
			}
		}
	}
	t.Run("drained", func(t *testing.T) {
		t.Parallel()
		g := gatewaytest.New(t, gatewaytest.Options{
			Fake:   fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 10, ChunkInterval: 30 * time.Millisecond}},
			Config: func(c *config.Config) { c.ShutdownTimeout = 5 * time.Second },
		})
		idle, _, err := wsDial(t, g, gatewaytest.Key)
		if err != nil {
			t.Fatal(err)
		}
		busy, _, err := wsDial(t, g, gatewaytest.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := busy.Write(ctxT(t), websocket.MessageText, []byte(wsCreate)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := busy.Read(ctxT(t)); err != nil { // the response is running
			t.Fatal(err)
		}
		stopped := make(chan struct{})
		go func() { g.Stop(); close(stopped) }()
		defer func() { <-stopped }()
		if code := closeCode(t, idle); code != websocket.StatusGoingAway {
			t.Fatalf("idle connection closed with %v", code)
		}
		var evs []wsEvent
		for {
			_, data, err := busy.Read(ctxT(t))
			if err != nil {
				if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
					t.Fatalf("busy connection closed with %v (%v)", code, err)
				}
				break
			}
			var ev wsEvent
			_ = json.Unmarshal(data, &ev)
			evs = append(evs, ev)
		}
		if len(evs) == 0 || last(evs).Type != "response.completed" {
			t.Fatalf("the response in flight did not complete: %d events", len(evs))
		}
		if rec := g.Finished(t, g.Recorder.IDs()[0]); rec.Outcome.Status != llm.StatusCompleted {
			t.Fatalf("record %s", rec.Outcome.Status)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		g := gatewaytest.New(t, gatewaytest.Options{
			Fake:   fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 1000, ChunkInterval: 20 * time.Millisecond}},
			Config: func(c *config.Config) { c.ShutdownTimeout = 300 * time.Millisecond },
		})
		conn, _, err := wsDial(t, g, gatewaytest.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Write(ctxT(t), websocket.MessageText, []byte(wsCreate)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := conn.Read(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan struct{})
		go func() { g.Stop(); close(stopped) }()
		defer func() { <-stopped }()
		if code := closeCode(t, conn); code != websocket.StatusGoingAway {
			t.Fatalf("closed with %v", code)
		}
		rec := g.Finished(t, g.Recorder.IDs()[0])
		if rec.Outcome.Status != llm.StatusFailed || rec.Outcome.ErrorClass != llm.ErrShutdown {
			t.Fatalf("record %s/%s", rec.Outcome.Status, rec.Outcome.ErrorClass)
		}
	})
}

// TestWebSocketMaxLifetime: a connection older than
// AETHER_WEBSOCKET_MAX_LIFETIME is closed with 1000 between requests,
// never during one.
func TestWebSocketMaxLifetime(t *testing.T) {
	t.Parallel()
	g := gatewaytest.New(t, gatewaytest.Options{
		Fake:   fakeupstream.Config{Knobs: fakeupstream.Knobs{Chunks: 20, ChunkInterval: 30 * time.Millisecond}},
		Config: func(c *config.Config) { c.WebSocketMaxLifetime = 200 * time.Millisecond },
	})
	conn, _, err := wsDial(t, g, gatewaytest.Key)
	if err != nil {
		t.Fatal(err)
	}
	// The response outlives the connection's lifetime and still completes.
	if ev := last(wsTurn(t, conn, wsCreate)); ev.Type != "response.completed" {
		t.Fatalf("last event %q", ev.Type)
	}
	_, _, err = conn.Read(ctxT(t))
	if code := websocket.CloseStatus(err); code != websocket.StatusNormalClosure {
		t.Fatalf("closed with %v (%v)", code, err)
	}
}
