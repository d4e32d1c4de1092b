package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

const hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"AETHER_ENCRYPTION_KEY": hexKey}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.TemporalNamespace != "default" || c.MaxBodyBytes != 32<<20 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.FirstByteTimeout != 30*time.Second || c.AccountingMode != "closed" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if len(c.EncryptionKey) != 32 || c.EncryptionKey[31] != 0x1f {
		t.Fatalf("key not decoded: %x", c.EncryptionKey)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"missing key", map[string]string{}, "AETHER_ENCRYPTION_KEY"},
		{"short key", map[string]string{"AETHER_ENCRYPTION_KEY": "abcd"}, "AETHER_ENCRYPTION_KEY"},
		{"listen without port", map[string]string{"AETHER_LISTEN": "localhost"}, "AETHER_LISTEN"},
		{"bad duration", map[string]string{"AETHER_SHUTDOWN_TIMEOUT": "soon"}, "AETHER_SHUTDOWN_TIMEOUT"},
		{"negative bytes", map[string]string{"AETHER_MAX_BODY_BYTES": "-1"}, "AETHER_MAX_BODY_BYTES"},
		{"bad database url", map[string]string{"AETHER_DATABASE_URL": "mysql://x"}, "AETHER_DATABASE_URL"},
		{"bad mode", map[string]string{"AETHER_ACCOUNTING_FAILURE_MODE": "maybe"}, "AETHER_ACCOUNTING_FAILURE_MODE"},
		{"bad level", map[string]string{"AETHER_LOG_LEVEL": "loud"}, "AETHER_LOG_LEVEL"},
		{"short admin token", map[string]string{"AETHER_ADMIN_TOKEN": "0123456789abcdef0123456789abcde"}, "AETHER_ADMIN_TOKEN"},
		{"placeholder admin token", map[string]string{"AETHER_ADMIN_TOKEN": "change-me"}, "AETHER_ADMIN_TOKEN"},
		{"padded placeholder admin token", map[string]string{"AETHER_ADMIN_TOKEN": "CHANGE-ME-change-me-change-me-change-me"}, "AETHER_ADMIN_TOKEN"},
		{"placeholder word and a counter", map[string]string{"AETHER_ADMIN_TOKEN": "password-password-password-0000001"}, "AETHER_ADMIN_TOKEN"},
		{"low-entropy admin token", map[string]string{"AETHER_ADMIN_TOKEN": "abababababababababababababababab"}, "AETHER_ADMIN_TOKEN"},
		{"bad body timeout", map[string]string{"AETHER_BODY_READ_TIMEOUT": "0s"}, "AETHER_BODY_READ_TIMEOUT"},
		{"in-flight cap below body limit", map[string]string{"AETHER_MAX_INFLIGHT_BODY_BYTES": "1000", "AETHER_MAX_BODY_BYTES": "2000"}, "AETHER_MAX_INFLIGHT_BODY_BYTES"},
		{"bad memory limit", map[string]string{"AETHER_MEMORY_LIMIT": "lots"}, "AETHER_MEMORY_LIMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"AETHER_ENCRYPTION_KEY": hexKey}
			for k, v := range tt.vars {
				vars[k] = v
			}
			if _, ok := tt.vars["AETHER_ENCRYPTION_KEY"]; !ok && tt.name == "missing key" {
				delete(vars, "AETHER_ENCRYPTION_KEY")
			}
			_, err := Load(env(vars))
			if err == nil {
				t.Fatal("want error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line naming %s", err, tt.want)
			}
		})
	}
}

// TestAdminToken: a generated token is accepted and empty leaves the admin
// API off, while short and placeholder tokens stop start-up (see
// TestLoadRejectsBadValues).
func TestAdminToken(t *testing.T) {
	for _, tok := range []string{"", "3f9a1c0e7b2d4856a9e1f0c3b7d2e8a41c6f9b0d2e7a3c5f8b1d4e6a9c0f2b7d", "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"} {
		c, err := Load(env(map[string]string{"AETHER_ENCRYPTION_KEY": hexKey, "AETHER_ADMIN_TOKEN": tok}))
		if err != nil || c.AdminToken != tok {
			t.Errorf("token %q: %v", tok, err)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	for v, want := range map[string]int64{"": 0, "805306368": 805306368, "768MiB": 768 << 20, "1GiB": 1 << 30, "2048KiB": 2 << 20, "512B": 512} {
		c, err := Load(env(map[string]string{"AETHER_ENCRYPTION_KEY": hexKey, "AETHER_MEMORY_LIMIT": v}))
		if err != nil || c.MemoryLimit != want {
			t.Errorf("%q: %d, %v; want %d", v, c.MemoryLimit, err, want)
		}
	}
}

func TestParseKeyBase64(t *testing.T) {
	k, err := ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil || len(k) != 32 || k[31] != 0x1f {
		t.Fatalf("ParseKey = %x, %v", k, err)
	}
}

// TestReadmeDocumentsEveryVariable keeps the README's configuration
// reference true: every variable Load reads must appear there.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}

func TestAffinityTTLZeroTurnsItOff(t *testing.T) {
	c, err := Load(env(map[string]string{"AETHER_ENCRYPTION_KEY": hexKey, "AETHER_AFFINITY_TTL": "0"}))
	if err != nil || c.AffinityTTL != 0 {
		t.Fatalf("AETHER_AFFINITY_TTL=0: ttl %v, err %v", c.AffinityTTL, err)
	}
	if _, err := Load(env(map[string]string{"AETHER_ENCRYPTION_KEY": hexKey, "AETHER_AFFINITY_TTL": "-1s"})); err == nil {
		t.Fatal("a negative AETHER_AFFINITY_TTL was accepted")
	}
}

// TestLoadTracing: tracing is on only with an OTLP endpoint, and
// OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turn it off.
func TestLoadTracing(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want Tracing
	}{
		{nil, Tracing{}},
		{map[string]string{"OTEL_SERVICE_NAME": "gw"}, Tracing{ServiceName: "gw"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, Tracing{Enabled: true}},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces", "OTEL_SERVICE_NAME": "gw"}, Tracing{Enabled: true, ServiceName: "gw"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, Tracing{}},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, Tracing{}},
	} {
		c, err := Load(func(k string) string {
			if k == "AETHER_ENCRYPTION_KEY" {
				return strings.Repeat("ab", 32)
			}
			return tt.env[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.Tracing != tt.want {
			t.Errorf("%v: %+v, want %+v", tt.env, c.Tracing, tt.want)
		}
	}
	if _, err := Load(func(k string) string {
		return map[string]string{"AETHER_ENCRYPTION_KEY": strings.Repeat("ab", 32), "OTEL_TRACES_EXPORTER": "zipkin"}[k]
	}); err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_EXPORTER") {
		t.Errorf("OTEL_TRACES_EXPORTER=zipkin: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range TracingVars {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}
