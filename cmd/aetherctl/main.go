// Command aetherctl is a small client of Aether's admin API for the common
// operations: create a gateway key, list and show requests, list and reset
// circuit breakers, export the configuration.
//
//	aetherctl keys create --user alice --name laptop
//	aetherctl requests list --model gpt-4o-mini --status failed
//	aetherctl requests show <request-id>
//	aetherctl breakers list
//	aetherctl breakers reset <provider-key-id>
//	aetherctl config export > aether.yaml
//
// It reads AETHER_ADMIN_URL (default AETHER_GATEWAY_URL, then
// http://127.0.0.1:8080) and AETHER_ADMIN_TOKEN; `source .dev/env` sets
// both for the dev stack.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

const usage = `usage: aetherctl <command>

  keys create --user USER --name NAME [--models m1,m2] [--formats openai,anthropic] [--rpm N] [--budget USD]
  keys list
  requests list [--user U] [--key K] [--model M] [--provider P] [--status S] [--from T] [--to T] [--limit N] [--cursor C]
  requests show REQUEST_ID
  requests aggregate [--group-by model|user|provider] [--from T] [--to T]
  breakers list
  breakers reset PROVIDER_KEY_ID
  prices import FILE [--overwrite]   (model_prices_and_context_window.json format)
  config export

Environment: AETHER_ADMIN_URL (or AETHER_GATEWAY_URL), AETHER_ADMIN_TOKEN.
`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "aetherctl:", err)
		os.Exit(1)
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func newClient() (*client, error) {
	base := os.Getenv("AETHER_ADMIN_URL")
	if base == "" {
		base = os.Getenv("AETHER_GATEWAY_URL")
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	tok := os.Getenv("AETHER_ADMIN_TOKEN")
	if tok == "" {
		return nil, errors.New("AETHER_ADMIN_TOKEN is not set (source .dev/env for the dev stack)")
	}
	return &client{base: strings.TrimRight(base, "/") + "/admin/v1", token: tok, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call sends a JSON request and returns the body; an admin error becomes
// an error naming its fields.
func (c *client) call(method, path string, body any) ([]byte, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	return c.callRaw(method, path, raw)
}

func (c *client) callRaw(method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Fields  []struct{ Field, Message string }
			} `json:"error"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error.Message != "" {
			msg := e.Error.Message
			for _, f := range e.Error.Fields {
				msg += fmt.Sprintf("; %s: %s", f.Field, f.Message)
			}
			return nil, fmt.Errorf("%s (%d)", msg, resp.StatusCode)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, out)
	}
	return out, nil
}

func run(args []string, out io.Writer) error {
	if len(args) < 2 && !(len(args) == 1 && args[0] == "help") {
		fmt.Fprint(out, usage)
		return errors.New("missing command")
	}
	if args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	cmd, rest := args[0]+" "+args[1], args[2:]
	switch cmd {
	case "keys create":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		user := fs.String("user", "", "user the key belongs to")
		name := fs.String("name", "", "unique key name")
		models := fs.String("models", "", "comma-separated allowed models (default all)")
		formats := fs.String("formats", "", "comma-separated allowed API formats (default all)")
		rpm := fs.Int("rpm", 0, "requests per minute (default unlimited)")
		budget := fs.String("budget", "", "budget in USD (default none)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if *user == "" || *name == "" {
			return errors.New("keys create needs --user and --name")
		}
		body := map[string]any{"name": *name}
		if *models != "" {
			body["allowed_models"] = strings.Split(*models, ",")
		}
		if *formats != "" {
			body["allowed_formats"] = strings.Split(*formats, ",")
		}
		if *rpm > 0 {
			body["rpm_limit"] = *rpm
		}
		if *budget != "" {
			body["budget_usd"] = *budget
		}
		b, err := c.call("POST", "/users/"+url.PathEscape(*user)+"/keys", body)
		if err != nil {
			return err
		}
		var v struct {
			Key string `json:"key"`
		}
		_ = json.Unmarshal(b, &v)
		fmt.Fprintf(out, "%s\n\nThis key is shown once: Aether keeps only its SHA-256.\n", v.Key)
		return nil
	case "keys list":
		return c.table(out, "/keys", "keys", []string{"name", "user", "prefix", "active", "spend_usd", "budget_usd"})
	case "requests list":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		q := url.Values{}
		for _, f := range []string{"user", "key", "model", "provider", "status", "from", "to", "limit", "cursor"} {
			fs.Func(f, "filter by "+f, func(v string) error { q.Set(f, v); return nil })
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		b, err := c.call("GET", "/requests?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		if err := printTable(out, b, "requests", []string{"request_id", "created_at", "model", "provider", "status", "status_code", "attempts", "total_tokens", "cost_usd"}); err != nil {
			return err
		}
		var v struct {
			Next *string `json:"next_cursor"`
		}
		if json.Unmarshal(b, &v) == nil && v.Next != nil {
			fmt.Fprintf(out, "\nmore: aetherctl requests list --cursor %s\n", *v.Next)
		}
		return nil
	case "requests show":
		if len(rest) != 1 {
			return errors.New("requests show needs a request ID")
		}
		b, err := c.call("GET", "/requests/"+url.PathEscape(rest[0]), nil)
		if err != nil {
			return err
		}
		return printJSON(out, b)
	case "requests aggregate":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		q := url.Values{}
		fs.Func("group-by", "model, user or provider", func(v string) error { q.Set("group_by", v); return nil })
		fs.Func("from", "start (RFC 3339 or YYYY-MM-DD)", func(v string) error { q.Set("from", v); return nil })
		fs.Func("to", "end (RFC 3339 or YYYY-MM-DD)", func(v string) error { q.Set("to", v); return nil })
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return c.table(out, "/requests/aggregate?"+q.Encode(), "rows", []string{"day", "group", "requests", "failed", "total_tokens", "cost_usd"})
	case "breakers list":
		return c.table(out, "/breakers", "breakers", []string{"key_id", "provider", "key", "state", "local_state", "open_until", "consecutive_failures", "failures_last_5m"})
	case "breakers reset":
		if len(rest) != 1 {
			return errors.New("breakers reset needs a provider key ID (see breakers list)")
		}
		if _, err := c.call("POST", "/breakers/"+url.PathEscape(rest[0])+"/reset", nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "breaker of provider key %s reset (closed)\n", rest[0])
		return nil
	case "prices import":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		overwrite := fs.Bool("overwrite", false, "replace prices that are already set")
		if len(rest) < 1 {
			return errors.New("prices import needs a file")
		}
		file := rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		b, err := c.callRaw("POST", "/prices/import?overwrite="+fmt.Sprint(*overwrite), data)
		if err != nil {
			return err
		}
		return printJSON(out, b)
	case "config export":
		b, err := c.call("GET", "/config/export", nil)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	fmt.Fprint(out, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func (c *client) table(out io.Writer, path, key string, cols []string) error {
	b, err := c.call("GET", path, nil)
	if err != nil {
		return err
	}
	return printTable(out, b, key, cols)
}

func printTable(out io.Writer, b []byte, key string, cols []string) error {
	var v map[string][]map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		// The body has other fields too; decode just the list.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		var list []map[string]any
		if err := json.Unmarshal(raw[key], &list); err != nil {
			return err
		}
		v = map[string][]map[string]any{key: list}
	}
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, row := range v[key] {
		cells := make([]string, len(cols))
		for i, col := range cols {
			if x, ok := row[col]; ok && x != nil {
				cells[i] = fmt.Sprint(x)
			} else {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func printJSON(out io.Writer, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := out.Write(buf.Bytes())
	return err
}
