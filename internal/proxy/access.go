package proxy

import "net/http"

// accessNoter is implemented by the HTTP layer's response writer, which
// writes an access line and counts every response. The proxy tells it why
// it refused or failed a request (a reason from a fixed list, or an error
// class), and whether it already wrote the request's full access line, so
// each response gets exactly one.
type accessNoter interface {
	NoteAccess(reason string, logged bool)
}

// noteAccess passes reason to the HTTP layer when w carries its notes.
func noteAccess(w http.ResponseWriter, reason string, logged bool) {
	if n, ok := w.(accessNoter); ok {
		n.NoteAccess(reason, logged)
	}
}
