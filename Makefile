# Aether. `make dev` runs the whole stack; `make test` runs every test.
# Both build what they need first: the pinned Temporal CLI into bin/, and
# (where missing) Debian's postgresql-15 server binaries; `make test` also
# installs Debian's chromium for the console's browser test.

GO               ?= go
TEMPORAL_VERSION := v1.5.1
# The Temporal server (and its SQL tool) that CLI embeds, for `make prod-stack`.
TEMPORAL_SERVER_VERSION := v1.29.1
PG_BIN           := /usr/lib/postgresql/15/bin
TEST_FLAGS       ?= -race
TEST_TIMEOUT     ?= 60m

.PHONY: dev prod-stack test check bench postgres chromium fuzz clean-dev

## dev: start Postgres, Temporal (Web UI :8233), the simulated upstream, the worker and the API
dev: bin/temporal postgres
	@mkdir -p .dev/bin
	$(GO) build -o .dev/bin/devstack ./cmd/devstack
	./.dev/bin/devstack

## prod-stack: Aether on the production Temporal server (Postgres persistence, SQL visibility): two API replicas, two workers
prod-stack: bin/temporal-server postgres
	@mkdir -p .dev/bin
	$(GO) build -o .dev/bin/prodstack ./cmd/prodstack
	./.dev/bin/prodstack

## test: formatting, vet, staticcheck, then every test, against real Postgres, a real Temporal dev server and headless Chromium
test: check bin/temporal postgres chromium
	$(GO) test $(TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./...

## check: formatting, vet and staticcheck
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## bench: Go benchmarks of the hot path (see BENCHMARKS.md for the load test)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/routing/ ./internal/httpapi/

## fuzz: run each parser fuzzer for a while
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime 30s ./internal/sse/
	$(GO) test -run '^$$' -fuzz FuzzArrayReader -fuzztime 30s ./internal/sse/
	$(GO) test -run '^$$' -fuzz FuzzSet -fuzztime 30s ./internal/jsonbody/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/seed/
	$(GO) test -run '^$$' -fuzz FuzzObserve -fuzztime 30s ./internal/openai/
	$(GO) test -run '^$$' -fuzz '^FuzzResponsesCodec$$' -fuzztime 30s ./internal/openai/
	$(GO) test -run '^$$' -fuzz '^FuzzResponsesStream$$' -fuzztime 30s ./internal/openai/
	$(GO) test -run '^$$' -fuzz FuzzObserve -fuzztime 30s ./internal/anthropic/
	$(GO) test -run '^$$' -fuzz FuzzObserve -fuzztime 30s ./internal/gemini/
	$(GO) test -run '^$$' -fuzz '^FuzzCodec$$' -fuzztime 30s ./internal/gemini/
	$(GO) test -run '^$$' -fuzz FuzzParseMicros -fuzztime 30s ./internal/llm/
	$(GO) test -run '^$$' -fuzz FuzzScanner -fuzztime 30s ./internal/jsonscan/
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime 30s ./internal/translate/
	$(GO) test -run '^$$' -fuzz '^FuzzResponse$$' -fuzztime 30s ./internal/translate/
	$(GO) test -run '^$$' -fuzz '^FuzzStream$$' -fuzztime 30s ./internal/translate/

bin/temporal:
	@echo "Building the Temporal CLI $(TEMPORAL_VERSION) into bin/ (about 10 minutes the first time)..."
	GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

# The server binary and temporal-sql-tool, from the module proxy, at the
# version the pinned CLI embeds (about 2 minutes once bin/temporal is built).
bin/temporal-server:
	@echo "Building the Temporal server $(TEMPORAL_SERVER_VERSION) and temporal-sql-tool into bin/..."
	GOBIN=$(CURDIR)/bin/.temporal-server $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) \
		go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv bin/.temporal-server/sql bin/temporal-sql-tool
	mv bin/.temporal-server/server bin/temporal-server
	rmdir bin/.temporal-server

postgres:
	@if [ ! -x $(PG_BIN)/postgres ] && ! command -v initdb >/dev/null 2>&1; then \
		echo "Installing Debian's postgresql-15 server binaries..."; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; fi; \
	fi

# Debian's chromium, which the console's browser test (internal/console) drives.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium..."; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; \
	fi

clean-dev:
	rm -rf .dev
