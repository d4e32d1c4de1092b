package llm

import "testing"

func TestOutcomeAnswered(t *testing.T) {
	// A recorded plan: two candidates, then one skipped (indexes follow on).
	plan := []Candidate{
		{Index: 0, Provider: "a"},
		{Index: 1, Provider: "b"},
		{Index: 2, Provider: "c", SkippedReason: "breaker_open"},
	}
	for _, tc := range []struct {
		name  string
		index int
		plan  []Candidate
		want  string
		ok    bool
	}{
		{"first", 0, plan, "a", true},
		{"second", 1, plan, "b", true},
		{"none answered", -1, plan, "", false},
		{"skipped never answers", 2, plan, "", false},
		{"beyond the plan", 7, plan, "", false},
		{"routing candidates only", 1, plan[:2], "b", true},
		{"empty plan", 0, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Outcome{CandidateIndex: tc.index}.Answered(tc.plan)
			if ok != tc.ok || c.Provider != tc.want {
				t.Fatalf("Answered = %q, %v; want %q, %v", c.Provider, ok, tc.want, tc.ok)
			}
		})
	}
}
