package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var metricName = regexp.MustCompile(`aether_[a-z0-9_]+`)

// TestDashboardUsesExportedMetrics: every aether_* metric the Grafana
// dashboard queries is defined in the code, so the dashboard cannot drift
// from the metrics.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	var code strings.Builder
	for _, dir := range []string{"../internal/metrics", "../internal/apiserver"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			src, _ := os.ReadFile(f)
			code.Write(src)
		}
	}
	defined := code.String()
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				n++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_total"), "_count")
				switch {
				case strings.HasPrefix(m, "aether_temporal_"):
					// Temporal SDK metrics, renamed by metrics.TemporalHandler.
				case strings.Contains(defined, `"`+m+`"`) || strings.Contains(defined, `"`+base+`"`) || strings.Contains(defined, `"`+base+`_total"`):
				default:
					t.Errorf("panel %q queries %s, which no code defines", p.Title, m)
				}
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d metric references: the dashboard lost its panels?", n)
	}
}
