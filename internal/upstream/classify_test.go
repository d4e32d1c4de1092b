package upstream

import (
	"testing"

	"aether/internal/core"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   core.ErrorClass
	}{
		{"provider key rejected", 401, `{"error":{"type":"authentication_error"}}`, core.ErrUpstreamAuth},
		{"provider key forbidden", 403, ``, core.ErrUpstreamAuth},
		{"rate limited", 429, `{"error":{"type":"rate_limit_error"}}`, core.ErrRateLimited},
		{"overloaded", 529, `{"type":"error","error":{"type":"overloaded_error"}}`, core.ErrUpstreamServer},
		{"server error", 500, ``, core.ErrUpstreamServer},
		{"request timeout", 408, ``, core.ErrUpstreamServer},
		{"openai invalid request", 400, `{"error":{"message":"bad","type":"invalid_request_error"}}`, core.ErrClientRequest},
		{"anthropic prompt too long", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens"}}`, core.ErrClientRequest},
		{"openai context length", 400, `{"error":{"code":"context_length_exceeded"}}`, core.ErrClientRequest},
		{"gemini invalid argument", 400, `{"error":{"code":400,"status":"INVALID_ARGUMENT"}}`, core.ErrClientRequest},
		{"content policy", 400, `{"error":{"code":"content_policy_violation"}}`, core.ErrClientRequest},
		{"unsupported parameter fails over", 400, `{"error":{"message":"Unsupported parameter: 'reasoning_effort' is not supported with this model.","type":"invalid_request_error"}}`, core.ErrUpstreamOther},
		{"unknown model at provider fails over", 404, `{"error":{"code":"model_not_found"}}`, core.ErrUpstreamOther},
		{"opaque 400 fails over", 400, `oops`, core.ErrUpstreamOther},
		{"too large", 413, ``, core.ErrClientRequest},
		{"payment required", 402, ``, core.ErrUpstreamOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyStatus(tt.status, []byte(tt.body)); got != tt.want {
				t.Fatalf("ClassifyStatus(%d, %s) = %s, want %s", tt.status, tt.body, got, tt.want)
			}
		})
	}
}

func TestFailoverRules(t *testing.T) {
	for class, want := range map[core.ErrorClass]bool{
		core.ErrClientRequest: false, core.ErrClientCancelled: false,
		core.ErrRateLimited: true, core.ErrUpstreamAuth: true, core.ErrHTMLPage: true,
		core.ErrEmbedded: true, core.ErrFirstByte: true, core.ErrConnect: true, core.ErrTimeout: true,
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
