package upstream

import (
	"os"
	"testing"

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
		{"unsupported parameter fails over", 400, `{"error":{"message":"Unsupported parameter: 'reasoning_effort' is not supported with this model.","type":"invalid_request_error"}}`, llm.ErrUpstreamOther},
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
			if FailsOver(got) != keyFault || CountsAgainstKey(got) != keyFault {
				t.Fatalf("%s: fails over %v, counts against the key %v; want %v", got, FailsOver(got), CountsAgainstKey(got), keyFault)
			}
		})
	}
}

func TestFailoverRules(t *testing.T) {
	for class, want := range map[llm.ErrorClass]bool{
		llm.ErrClientRequest: false, llm.ErrClientCancelled: false,
		llm.ErrRateLimited: true, llm.ErrUpstreamAuth: true, llm.ErrUpstreamAccount: true, llm.ErrHTMLPage: true,
		llm.ErrEmbedded: true, llm.ErrFirstByte: true, llm.ErrConnect: true, llm.ErrTimeout: true,
	} {
		if got := FailsOver(class); got != want {
			t.Errorf("FailsOver(%s) = %v, want %v", class, got, want)
		}
		if CountsAgainstKey(class) != want {
			t.Errorf("CountsAgainstKey(%s) != %v", class, want)
		}
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
