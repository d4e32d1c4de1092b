// Package temporalx connects Aether's processes to Temporal: client options
// with the process logger bridged in, and search-attribute registration.
package temporalx

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"aether/internal/accounting/contract"
)

// Options returns client options for address and namespace, logging
// through log at warn level and above (the SDK is chatty at info).
func Options(address, namespace string, log *slog.Logger) client.Options {
	return client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    tlog.NewStructuredLogger(slog.New(levelFloor{log.Handler(), slog.LevelWarn})),
	}
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (l levelFloor) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.Handler.Enabled(ctx, lv)
}

var types = map[string]enums.IndexedValueType{
	"Keyword": enums.INDEXED_VALUE_TYPE_KEYWORD,
	"Bool":    enums.INDEXED_VALUE_TYPE_BOOL,
	"Double":  enums.INDEXED_VALUE_TYPE_DOUBLE,
	"Int":     enums.INDEXED_VALUE_TYPE_INT,
}

// EnsureSearchAttributes registers Aether's search attributes that the
// namespace lacks. On a self-hosted server this is all the setup needed;
// where the operator API is not allowed, the error says what to run.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, sa := range contract.SearchAttributes {
		if _, ok := have.CustomAttributes[sa.Name]; !ok {
			missing[sa.Name] = types[sa.Type]
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("register search attributes %v (see README: Production Temporal): %w", keys(missing), err)
	}
	return nil
}

func keys(m map[string]enums.IndexedValueType) []string {
	var out []string
	for _, sa := range contract.SearchAttributes {
		if _, ok := m[sa.Name]; ok {
			out = append(out, sa.Name)
		}
	}
	return out
}
