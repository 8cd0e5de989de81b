# shoal's build. `make help` lists the targets.

GO       ?= go
BIN      ?= bin/shoal
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.buildVersion=$(VERSION)
# libcontainer needs cgo.
export CGO_ENABLED := 1

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the static shoal binary into bin/shoal, and bin/shoal-init, the small container init it uses
	$(GO) build -tags netgo,osusergo -ldflags '$(LDFLAGS) -s -w -linkmode external -extldflags -static' -o $(BIN) ./cmd/shoal
	CGO_ENABLED=0 $(GO) build -ldflags '-s -w' -o $(dir $(BIN))shoal-init ./nodeagent/runtime/pid1/cmd/shoal-init

.PHONY: test
test: ## Run every test (unit tests with -race; root-only tests skip themselves when not root)
	$(GO) test -race -count=1 ./...

.PHONY: verify
verify: ## Fail on an untidy go.mod, unformatted code or vet findings
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: bench
bench: ## Run the benchmarks (see docs/BENCHMARKS.md; the pod benchmarks need root)
	$(GO) test -run '^$$' -bench . -benchmem ./manifests/
	SHOAL_BENCH_RUNC=1 $(GO) test -run '^$$' -bench PodStartToReady -benchtime 3x ./nodeagent/pods/
	$(GO) test -run '^$$' -bench . -benchtime 50x ./nodeagent/runtime/
	$(GO) test -run '^$$' -bench Convergence50 -benchtime 3x ./gossip/
	$(GO) test -run '^$$' -bench Proxy -benchtime 3s -benchmem ./nodeagent/ingress/
	$(GO) test -run '^$$' -bench . -benchmem ./policies/network/
	$(GO) test -run '^$$' -bench Policy -benchtime 3s ./nodeagent/netpolicy/
	$(GO) test -run '^$$' -bench GitPushToRunning -benchtime 20x ./testenv/e2e/
	$(GO) test -run '^$$' -bench LeaderFailover -benchtime 10x ./testenv/e2e/

.PHONY: fuzz
fuzz: ## Fuzz the manifest decoder for FUZZTIME (default 60s)
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime $${FUZZTIME:-60s} ./manifests/

.PHONY: docs
docs: ## Regenerate the generated part of docs/SUPPORT.md from the support rules
	$(GO) test ./manifests/ -run TestSupportDoc -update

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
