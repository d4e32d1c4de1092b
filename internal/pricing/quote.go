package pricing

import "aether/internal/llm"

// Quote prices one request. It is the one price rule for budgets and
// records: the API calls it (through catalog.Snapshot.Cost) to charge a
// request against budgets the moment it ends, and the worker calls it to
// compute the cost it records, so the two never disagree on whether a
// model has a price.
//
// The price is db, the database price of the model on the provider (its
// provider override or the model's own; nil when it has neither), else
// the defaults table's price for the model's name or, failing that, the
// upstream model's name. ok is false when neither has a price: the cost is
// then unknown, never zero.
func Quote(db *Price, defaults Table, model, upstreamModel string, u llm.Usage, o Options) (b Breakdown, ok bool) {
	p, ok := find(db, defaults, model, upstreamModel)
	if !ok {
		return Breakdown{}, false
	}
	return Cost(p, u, o), true
}

func find(db *Price, defaults Table, model, upstreamModel string) (Price, bool) {
	if db != nil {
		return *db, true
	}
	return defaults.Lookup(model, upstreamModel)
}
