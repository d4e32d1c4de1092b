package llm

import (
	"net/http"
	"testing"
)

func TestErrorKindStatus(t *testing.T) {
	want := map[ErrorKind]int{
		KindInvalidRequest:   400,
		KindAuthentication:   401,
		KindPermission:       403,
		KindNotFound:         404,
		KindMethodNotAllowed: 405,
		KindRequestTimeout:   408,
		KindConflict:         409,
		KindTooLarge:         413,
		KindRateLimit:        429,
		KindInternal:         500,
		KindUpstream:         502,
		KindUnavailable:      503,
		KindDisabled:         403,
	}
	if len(Kinds()) != len(want) || len(kindStatus) != len(want) {
		t.Fatalf("Kinds() has %d kinds, the status table %d, this test %d", len(Kinds()), len(kindStatus), len(want))
	}
	for _, k := range Kinds() {
		if got := k.Status(); got != want[k] {
			t.Errorf("%s.Status() = %d, want %d", k, got, want[k])
		}
	}
	if got := ErrorKind("no_such_kind").Status(); got != http.StatusInternalServerError {
		t.Errorf("unknown kind: %d, want 500", got)
	}
}
