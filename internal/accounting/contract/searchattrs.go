package contract

import "go.temporal.io/sdk/temporal"

// Aether's custom search attributes, set on every request workflow (issue
// 4). Users filter request history with these names in the Temporal UI
// and `temporal workflow list --query`, so they are part of the product.
var (
	SAUser        = temporal.NewSearchAttributeKeyKeyword("AetherUser")
	SAAPIKey      = temporal.NewSearchAttributeKeyKeyword("AetherAPIKey")
	SAModel       = temporal.NewSearchAttributeKeyKeyword("AetherModel")
	SAProvider    = temporal.NewSearchAttributeKeyKeyword("AetherProvider")
	SAFormat      = temporal.NewSearchAttributeKeyKeyword("AetherFormat")
	SAStream      = temporal.NewSearchAttributeKeyBool("AetherStream")
	SAStatus      = temporal.NewSearchAttributeKeyKeyword("AetherStatus")
	SACostUSD     = temporal.NewSearchAttributeKeyFloat64("AetherCostUSD")
	SATotalTokens = temporal.NewSearchAttributeKeyInt64("AetherTotalTokens")
	// SACorrelationID is the client's own X-Request-ID, set at start only
	// when the client sent one.
	SACorrelationID = temporal.NewSearchAttributeKeyKeyword("AetherCorrelationID")
	// SAWebSocket is true, set at start only, for a request that came on
	// a Responses WebSocket; HTTP requests do not set it.
	SAWebSocket = temporal.NewSearchAttributeKeyBool("AetherWebSocket")
)

// SearchAttribute names one custom search attribute and its type, for the
// code and config that register them with a Temporal namespace.
type SearchAttribute struct {
	Name string
	// Type is the Temporal type name: Keyword, Bool, Double or Int.
	Type string
}

// SearchAttributes lists every custom search attribute a request workflow
// sets, built from the keys above so the two cannot disagree.
var SearchAttributes = list(SAUser, SAAPIKey, SAModel, SAProvider, SAFormat, SAStream,
	SAStatus, SACostUSD, SATotalTokens, SACorrelationID, SAWebSocket)

func list(keys ...temporal.SearchAttributeKey) []SearchAttribute {
	out := make([]SearchAttribute, len(keys))
	for i, k := range keys {
		out[i] = SearchAttribute{Name: k.GetName(), Type: k.GetValueType().String()}
	}
	return out
}
