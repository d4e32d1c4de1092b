// Package llm is the vocabulary of one proxied LLM API call, shared by every
// other package: the API formats and their dialect interface, request
// metadata, candidates and attempts, normalised token usage, outcomes and
// error classes, and exact money. It imports nothing from the project, so
// any package may depend on it.
package llm
