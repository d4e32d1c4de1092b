// Package config parses the API's and the worker's configuration from
// AETHER_* environment variables. Each binary's main calls Load once and
// hands the product packages the values they need; they never read the
// environment themselves, except that the API resolves ${VAR} references
// in its configuration file (apiserver.Deps.Getenv).
package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is the whole process configuration of both binaries. Each binary
// uses the fields it needs; parsing them all keeps one reference table.
type Config struct {
	Listen            string
	WorkerListen      string
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	ConfigFile        string
	EncryptionKey     []byte
	AdminToken        string
	LogLevel          slog.Level
	LogFormat         string
	ShutdownTimeout   time.Duration
	MaxBodyBytes      int64
	BodyReadTimeout   time.Duration
	MaxInflightBody   int64
	MemoryLimit       int64
	FirstByteTimeout  time.Duration
	RequestTimeout    time.Duration
	SnapshotRefresh   time.Duration
	JournalDir        string
	JournalSegment    int
	JournalMaxBytes   int64
	AccountingMode    string
	LimitsMode        string
	TemporalUIURL     string
	RoutingOrder      string
	AffinityTTL       time.Duration
	MaxAttempts       int
	BreakerRatio      float64
	BreakerMinReqs    int
	BreakerWindow     time.Duration
	BreakerOpenFor    time.Duration
	BreakerProbes     int
	RetainRequests    time.Duration
	RetainAudit       time.Duration
	CleanupBatch      int
	// PprofListen serves net/http/pprof for profiling the API; "" is off.
	PprofListen string

	// WebSocketIdleTimeout and WebSocketMaxLifetime bound a Responses
	// WebSocket connection (internal/httpapi/websocket.go).
	WebSocketIdleTimeout time.Duration
	WebSocketMaxLifetime time.Duration

	// Tracing is the API's OpenTelemetry trace export (TracingVars).
	Tracing Tracing
}

// Tracing says whether the API and the worker export OTLP traces. It is on when an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT) and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none turns it off. The exporter itself reads the
// endpoint, headers, timeout and TLS settings from the standard OTEL_*
// variables (the OpenTelemetry SDK's own parsing).
type Tracing struct {
	Enabled     bool
	ServiceName string // "": the binary's own name
}

// TracingVars are the standard OpenTelemetry variables the API reads
// itself; the OTLP exporter reads the rest of OTEL_EXPORTER_OTLP_*.
var TracingVars = []Var{
	{Name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Help: "OTLP/HTTP traces URL, such as http://collector:4318/v1/traces; set (or OTEL_EXPORTER_OTLP_ENDPOINT) to export traces"},
	{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Help: "OTLP/HTTP base URL, such as http://collector:4318 (/v1/traces is appended)"},
	{Name: "OTEL_TRACES_EXPORTER", Default: "otlp", Help: "otlp, or none to turn tracing off"},
	{Name: "OTEL_SDK_DISABLED", Default: "false", Help: "true turns tracing off"},
	{Name: "OTEL_SERVICE_NAME", Default: "aether-api, aether-worker", Help: "service.name of the process's spans"},
}

// loadTracing parses TracingVars.
func loadTracing(getenv func(string) string) (Tracing, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	t := Tracing{ServiceName: get("OTEL_SERVICE_NAME")}
	exp := strings.ToLower(get("OTEL_TRACES_EXPORTER"))
	if exp != "" && exp != "otlp" && exp != "none" {
		return Tracing{}, fmt.Errorf("config: OTEL_TRACES_EXPORTER: %q is not one of otlp, none", exp)
	}
	disabled := strings.EqualFold(get("OTEL_SDK_DISABLED"), "true")
	endpoint := get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	t.Enabled = endpoint && exp != "none" && !disabled
	return t, nil
}

// Var documents one environment variable: its name, default and meaning.
// The README's configuration reference is checked against this table.
type Var struct {
	Name    string
	Default string
	Help    string
	set     func(c *Config, v string) error
}

// Vars is the reference table of every variable Aether reads.
var Vars = []Var{
	{"AETHER_LISTEN", "127.0.0.1:8080", "address the API (gateway, admin, /metrics) listens on", setAddr(func(c *Config) *string { return &c.Listen })},
	{"AETHER_WORKER_LISTEN", "127.0.0.1:8081", "address the worker serves /healthz and /metrics on", setAddr(func(c *Config) *string { return &c.WorkerListen })},
	{"AETHER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aether?sslmode=disable", "Postgres connection URL", setURL(func(c *Config) *string { return &c.DatabaseURL }, "postgres://", "postgresql://")},
	{"AETHER_TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port", setAddr(func(c *Config) *string { return &c.TemporalAddress })},
	{"AETHER_TEMPORAL_NAMESPACE", "default", "Temporal namespace", setString(func(c *Config) *string { return &c.TemporalNamespace }, false)},
	{"AETHER_TEMPORAL_TASK_QUEUE", "aether-requests", "task queue of the request workflows", setString(func(c *Config) *string { return &c.TaskQueue }, false)},
	{"AETHER_TEMPORAL_UI_URL", "http://127.0.0.1:8233", "Temporal Web UI base URL, used for links to a request's workflow", setURL(func(c *Config) *string { return &c.TemporalUIURL }, "http://", "https://")},
	{"AETHER_CONFIG", "", "declarative YAML file seeding providers, endpoints, keys, models, prices, users and gateway keys at start-up (empty: none)", setString(func(c *Config) *string { return &c.ConfigFile }, true)},
	{"AETHER_ENCRYPTION_KEY", "", "32-byte key (64 hex characters or base64) encrypting provider secrets with AES-256-GCM; required", setKey},
	{"AETHER_ADMIN_TOKEN", "", "bearer token of the admin API, at least 32 random characters (openssl rand -hex 32); empty: admin API disabled", setAdminToken},
	{"AETHER_LOG_LEVEL", "info", "debug, info, warn or error", setLevel},
	{"AETHER_LOG_FORMAT", "json", "json or text", setEnum(func(c *Config) *string { return &c.LogFormat }, "json", "text")},
	{"AETHER_SHUTDOWN_TIMEOUT", "30s", "how long SIGTERM waits for in-flight requests and streams to finish", setDuration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"AETHER_MAX_BODY_BYTES", "33554432", "largest accepted request body in bytes (413 above it)", setBytes(func(c *Config) *int64 { return &c.MaxBodyBytes })},
	{"AETHER_MAX_INFLIGHT_BODY_BYTES", "536870912", "most bytes of request bodies held in memory at once, all requests together (503 above it); at least AETHER_MAX_BODY_BYTES", setBytes(func(c *Config) *int64 { return &c.MaxInflightBody })},
	{"AETHER_BODY_READ_TIMEOUT", "30s", "time a client has, from the request's start, to send its whole body (408 after it)", setDuration(func(c *Config) *time.Duration { return &c.BodyReadTimeout })},
	{"AETHER_WEBSOCKET_IDLE_TIMEOUT", "5m", "a Responses WebSocket connection with no request for this long is closed (1000)", setDuration(func(c *Config) *time.Duration { return &c.WebSocketIdleTimeout })},
	{"AETHER_WEBSOCKET_MAX_LIFETIME", "60m", "a Responses WebSocket connection this old is closed (1000) once its response in flight ends; the client reconnects", setDuration(func(c *Config) *time.Duration { return &c.WebSocketMaxLifetime })},
	{"AETHER_MEMORY_LIMIT", "", "API: soft memory limit of the Go runtime, such as 1GiB (empty: GOMEMLIMIT, else none)", setMemoryLimit},
	{"AETHER_STREAM_FIRST_BYTE_TIMEOUT", "30s", "default time an upstream has to send its first event before the gateway fails over", setDuration(func(c *Config) *time.Duration { return &c.FirstByteTimeout })},
	{"AETHER_REQUEST_TIMEOUT", "10m", "upper bound on one proxied request, all attempts included", setDuration(func(c *Config) *time.Duration { return &c.RequestTimeout })},
	{"AETHER_SNAPSHOT_REFRESH", "1s", "how often the API checks Postgres for configuration changes (keys, providers, prices)", setDuration(func(c *Config) *time.Duration { return &c.SnapshotRefresh })},
	{"AETHER_JOURNAL_DIR", "./data/journal", "directory of the durable accounting journal", setString(func(c *Config) *string { return &c.JournalDir }, false)},
	{"AETHER_JOURNAL_SEGMENT_BYTES", "16777216", "size in bytes past which the journal starts a new segment file; shipped segments are deleted, so the journal needs about two segments plus its unshipped backlog on disk", setInt(func(c *Config) *int { return &c.JournalSegment }, 65536, 1<<30)},
	{"AETHER_JOURNAL_MAX_BYTES", "0", "cap in bytes on the journal's files on disk (0: no cap); at the cap new requests are refused (503) when AETHER_ACCOUNTING_FAILURE_MODE=closed, or served unrecorded, logged and counted when open", setBytesOrZero(func(c *Config) *int64 { return &c.JournalMaxBytes })},
	{"AETHER_ACCOUNTING_FAILURE_MODE", "closed", "when the journal cannot be written: closed (503 to new requests) or open (serve and log)", setEnum(func(c *Config) *string { return &c.AccountingMode }, "closed", "open")},
	{"AETHER_LIMITS_FAILURE_MODE", "open", "when limiter or budget state cannot be read: open (serve) or closed (429)", setEnum(func(c *Config) *string { return &c.LimitsMode }, "open", "closed")},
	{"AETHER_ROUTING_ORDER", "provider", "candidate order: provider (provider priority, then key priority) or global (key global_priority across providers)", setEnum(func(c *Config) *string { return &c.RoutingOrder }, "provider", "global")},
	{"AETHER_AFFINITY_TTL", "5m", "how long a caller sticks to the provider key that last answered it for a model (prompt caches are per key); 0 turns it off", setDurationOrZero(func(c *Config) *time.Duration { return &c.AffinityTTL })},
	{"AETHER_MAX_ATTEMPTS", "5", "most candidates tried for one request", setInt(func(c *Config) *int { return &c.MaxAttempts }, 1, 50)},
	{"AETHER_BREAKER_FAILURE_RATIO", "0.5", "a provider key's breaker opens when failures/requests in the window reach this ratio", setRatio},
	{"AETHER_BREAKER_MIN_REQUESTS", "5", "... and the window holds at least this many requests", setInt(func(c *Config) *int { return &c.BreakerMinReqs }, 1, 1_000_000)},
	{"AETHER_BREAKER_WINDOW", "60s", "rolling window of a breaker's counts", setDuration(func(c *Config) *time.Duration { return &c.BreakerWindow })},
	{"AETHER_BREAKER_OPEN_FOR", "30s", "how long an open breaker skips its key before letting probes through", setDuration(func(c *Config) *time.Duration { return &c.BreakerOpenFor })},
	{"AETHER_RETENTION_REQUESTS", "90d", "worker: delete request and attempt rows older than this (daily, in batches); 0 keeps them", setRetention(func(c *Config) *time.Duration { return &c.RetainRequests })},
	{"AETHER_RETENTION_AUDIT", "365d", "worker: delete audit rows older than this; 0 keeps them", setRetention(func(c *Config) *time.Duration { return &c.RetainAudit })},
	{"AETHER_CLEANUP_BATCH", "2000", "worker: rows deleted per transaction by the retention cleanup", setInt(func(c *Config) *int { return &c.CleanupBatch }, 1, 10000)},
	{"AETHER_PPROF_LISTEN", "", "API: address serving Go's /debug/pprof profiles, unauthenticated, so keep it on loopback (empty: off)", setOptionalAddr(func(c *Config) *string { return &c.PprofListen })},
	{"AETHER_BREAKER_HALF_OPEN_PROBES", "2", "requests a half-open breaker lets through; that many successes close it, one failure reopens it", setInt(func(c *Config) *int { return &c.BreakerProbes }, 1, 1000)},
}

// Load parses every variable through getenv (os.Getenv in main). The error
// is one line naming the offending variable.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	for _, v := range Vars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = v.Default
		}
		if err := v.set(&c, val); err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", v.Name, err)
		}
	}
	if c.MaxInflightBody < c.MaxBodyBytes {
		return Config{}, fmt.Errorf("config: AETHER_MAX_INFLIGHT_BODY_BYTES: %d is below AETHER_MAX_BODY_BYTES (%d), so the largest body could never be read", c.MaxInflightBody, c.MaxBodyBytes)
	}
	t, err := loadTracing(getenv)
	if err != nil {
		return Config{}, err
	}
	c.Tracing = t
	return c, nil
}

func setString(field func(*Config) *string, allowEmpty bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" && !allowEmpty {
			return fmt.Errorf("must not be empty")
		}
		*field(c) = v
		return nil
	}
}

func setEnum(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*field(c) = a
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

func setAddr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("%q is not host:port", v)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%q has no valid port", v)
		}
		*field(c) = v
		return nil
	}
}

// setOptionalAddr is setAddr where empty turns the listener off.
func setOptionalAddr(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			*field(c) = ""
			return nil
		}
		return setAddr(field)(c, v)
	}
}

func setURL(field func(*Config) *string, schemes ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, s := range schemes {
			if strings.HasPrefix(v, s) {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("must start with %s", strings.Join(schemes, " or "))
	}
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 30s or 7d", v)
		}
		*field(c) = d
		return nil
	}
}

// setDurationOrZero is setDuration that also takes 0, for settings where
// zero turns a feature off.
func setDurationOrZero(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "0" {
			*field(c) = 0
			return nil
		}
		return setDuration(field)(c, v)
	}
}

func setInt(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func setRatio(c *Config, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 1 {
		return fmt.Errorf("%q is not a ratio above 0 and at most 1", v)
	}
	c.BreakerRatio = f
	return nil
}

// parseDuration accepts Go durations and whole days ("90d").
func parseDuration(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad day count")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func setRetention(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < 24*time.Hour) {
			return fmt.Errorf("%q is not 0 or a retention of at least a day such as 90d", v)
		}
		*field(c) = d
		return nil
	}
}

func setBytes(field func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive number of bytes", v)
		}
		*field(c) = n
		return nil
	}
}

// setBytesOrZero is setBytes that also takes 0, for caps where zero means
// none.
func setBytesOrZero(field func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "0" {
			*field(c) = 0
			return nil
		}
		return setBytes(field)(c, v)
	}
}

// setMemoryLimit accepts what GOMEMLIMIT accepts: a number of bytes with an
// optional B, KiB, MiB, GiB or TiB suffix. Empty leaves the runtime's own
// setting (GOMEMLIMIT, else none) alone.
func setMemoryLimit(c *Config, v string) error {
	if v == "" {
		return nil
	}
	num, mult := v, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size such as 1GiB or 805306368", v)
	}
	c.MemoryLimit = n * mult
	return nil
}

// placeholderTokens are admin tokens copied from examples: they are public,
// so the API refuses to start with one rather than expose the admin API.
var placeholderTokens = []string{"changeme", "changemenow", "replaceme", "secret", "password", "admin", "token",
	"admintoken", "secrettoken", "mytoken", "yourtoken", "default", "example", "placeholder", "test", "dev", "aether"}

// setAdminToken refuses an admin token that can be guessed: shorter than
// 32 characters, a known placeholder (also repeated to length), or made of
// fewer than 8 distinct characters. Empty turns the admin API off.
func setAdminToken(c *Config, v string) error {
	if v == "" {
		return nil
	}
	const fix = "; generate one with: openssl rand -hex 32"
	if len(v) < 32 {
		return fmt.Errorf("is %d characters; it must be at least 32%s", len(v), fix)
	}
	norm := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return -1
	}, v)
	for _, p := range placeholderTokens {
		if rest := strings.ReplaceAll(norm, p, ""); len(rest) < 8 {
			return fmt.Errorf("is a placeholder, not a secret%s", fix)
		}
	}
	distinct := map[rune]bool{}
	for _, r := range v {
		distinct[r] = true
	}
	if len(distinct) < 8 {
		return fmt.Errorf("has only %d distinct characters%s", len(distinct), fix)
	}
	c.AdminToken = v
	return nil
}

func setLevel(c *Config, v string) error {
	if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
		return fmt.Errorf("%q is not debug, info, warn or error", v)
	}
	return nil
}

// setKey accepts 64 hex characters or standard/URL base64 of 32 bytes, so
// both `openssl rand -hex 32` and `openssl rand -base64 32` work.
func setKey(c *Config, v string) error {
	if v == "" {
		return fmt.Errorf("required: 32 random bytes as 64 hex characters or base64 (openssl rand -hex 32)")
	}
	key, err := ParseKey(v)
	if err != nil {
		return err
	}
	c.EncryptionKey = key
	return nil
}

// ParseKey decodes a 32-byte key written as hex or base64.
func ParseKey(v string) ([]byte, error) {
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be 32 bytes as 64 hex characters or base64 (got %d characters)", len(v))
}
