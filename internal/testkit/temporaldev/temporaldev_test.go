package temporaldev_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"aether/internal/accounting/contract"
	"aether/internal/testkit/temporaldev"
)

// TestStartRegistersSearchAttributes starts a real dev server the way the
// dev stack does and checks Aether's search attributes exist with the right
// types, so `temporal workflow list --query 'AetherModel=...'` works.
func TestStartRegistersSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := temporaldev.Start(ctx, temporaldev.Options{Headless: true, DBFile: t.TempDir() + "/t.db"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for _, sa := range contract.SearchAttributes {
		typ, ok := resp.CustomAttributes[sa.Name]
		if !ok {
			t.Errorf("search attribute %s not registered", sa.Name)
			continue
		}
		if got := typ.String(); got != sa.Type {
			t.Errorf("%s has type %s, want %s", sa.Name, got, sa.Type)
		}
	}
}
