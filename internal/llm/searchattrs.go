package llm

// SearchAttribute is one of Aether's custom Temporal search attributes:
// users filter request history with these names in the Temporal UI and
// `temporal workflow list --query`, so they are part of the product.
type SearchAttribute struct {
	Name string
	// Type is the Temporal type name: Keyword, Bool, Double or Int.
	Type string
}

// SearchAttributes lists every custom search attribute a request workflow
// upserts (issue 4).
var SearchAttributes = []SearchAttribute{
	{"AetherUser", "Keyword"},
	{"AetherAPIKey", "Keyword"},
	{"AetherModel", "Keyword"},
	{"AetherProvider", "Keyword"},
	{"AetherFormat", "Keyword"},
	{"AetherStream", "Bool"},
	{"AetherStatus", "Keyword"},
	{"AetherCostUSD", "Double"},
	{"AetherTotalTokens", "Int"},
	// The client's own X-Request-ID (set only when it sent one).
	{"AetherCorrelationID", "Keyword"},
}
