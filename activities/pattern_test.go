package activities_test

import (
	"context"
	"testing"
)

// TestRecordFinalPatterns: a request recorded under a name a pattern
// serves pays the pattern's database price, else the default table's price
// for the name; a name priced nowhere (unpriced-house-model-2, served by
// the unpriced "house-*") is recorded with its cost unknown, never as zero.
// An exact model keeps its own price ("priced" wins over "priced-*").
func TestRecordFinalPatterns(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		id, model string
		known     bool
		cost      string
	}{
		{"pat-unpriced", "house-model-2", false, ""},
		{"pat-priced", "priced-large", true, "0.012000000000"},
		{"pat-exact-wins", "priced", true, "0.006000000000"},
		{"pat-default-table", "claude-opus-4-1", true, "0.052500000000"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			res, err := fx.acts.RecordFinal(context.Background(), fx.final(tt.id, tt.model))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Applied || res.CostKnown != tt.known {
				t.Fatalf("result %+v, want cost known %v", res, tt.known)
			}
			var model string
			if err := fx.st.Pool.QueryRow(context.Background(), `SELECT model FROM requests WHERE request_id = $1`, tt.id).Scan(&model); err != nil || model != tt.model {
				t.Fatalf("recorded under %q (%v), want %q", model, err, tt.model)
			}
			if _, _, cost, known := fx.spend(t, tt.id); known != tt.known || cost != tt.cost {
				t.Errorf("cost %q (known %v), want %q", cost, known, tt.cost)
			}
		})
	}
	// The unpriced counter is labelled by the pattern, not the client's name.
	if len(fx.unpriced) != 1 || fx.unpriced[0] != "house-*" {
		t.Errorf("unpriced hook saw %v", fx.unpriced)
	}
}
