// Package core is the leaf package of Aether: the canonical request, usage
// and event types and the sentinel errors every other package shares. It
// imports nothing from the project, so any package may depend on it.
package core
