package fakeupstream

// modelCreated is the fixed creation time of every listed model, so the
// lists are byte-for-byte stable across runs.
const (
	modelCreated   = 1735689600 // 2025-01-01T00:00:00Z
	modelCreatedAt = "2025-01-01T00:00:00Z"
)

// modelLists renders the three list-models bodies once, at New.
func modelLists(models []string) (openAI, anthropic, gemini []byte) {
	openAI = append(openAI, `{"object":"list","data":[`...)
	anthropic = append(anthropic, `{"data":[`...)
	gemini = append(gemini, `{"models":[`...)
	for i, m := range models {
		if i > 0 {
			openAI = append(openAI, ',')
			anthropic = append(anthropic, ',')
			gemini = append(gemini, ',')
		}
		openAI = append(openAI, `{"id":`...)
		openAI = appendJSONString(openAI, m)
		openAI = append(openAI, `,"object":"model","created":`...)
		openAI = appendInt(openAI, modelCreated)
		openAI = append(openAI, `,"owned_by":"fakeupstream"}`...)

		anthropic = append(anthropic, `{"type":"model","id":`...)
		anthropic = appendJSONString(anthropic, m)
		anthropic = append(anthropic, `,"display_name":`...)
		anthropic = appendJSONString(anthropic, m)
		anthropic = append(anthropic, `,"created_at":"`+modelCreatedAt+`"}`...)

		gemini = append(gemini, `{"name":`...)
		gemini = appendJSONString(gemini, "models/"+m)
		gemini = append(gemini, `,"version":"001","displayName":`...)
		gemini = appendJSONString(gemini, m)
		gemini = append(gemini, `,"description":"fakeupstream model","inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","streamGenerateContent","countTokens"]}`...)
	}
	openAI = append(openAI, "]}"...)
	gemini = append(gemini, "]}"...)
	anthropic = append(anthropic, `],"has_more":false,"first_id":`...)
	if len(models) == 0 {
		anthropic = append(anthropic, `null,"last_id":null}`...)
		return openAI, anthropic, gemini
	}
	anthropic = appendJSONString(anthropic, models[0])
	anthropic = append(anthropic, `,"last_id":`...)
	anthropic = appendJSONString(anthropic, models[len(models)-1])
	anthropic = append(anthropic, '}')
	return openAI, anthropic, gemini
}
