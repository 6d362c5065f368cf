# The commands of the project. `make check test` is what CI runs.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS     := -s -w -X github.com/newswatch/newswatch/internal/buildinfo.version=$(VERSION) -X github.com/newswatch/newswatch/internal/buildinfo.commit=$(COMMIT)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 30s

.PHONY: build check test test-packaging bench bench-archive bench-scale fuzz run

build: ## every command (newswatch, newswatch-slack, newswatch-feedsim), into ./bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

check: ## formatting, vet, staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

test: api/node_modules/.package-lock.json examples/consumers/node/node_modules/.package-lock.json console/web/axe/node_modules/.package-lock.json ## every test, with the race detector
	$(GO) test -race -timeout 20m ./...

# The AsyncAPI specification the contract test validates api/asyncapi.yaml against (npm, pinned).
api/node_modules/.package-lock.json: api/package.json api/package-lock.json
	npm ci --prefix api --no-audit --no-fund

# The packages of the Node example consumer, which a test runs (npm, pinned).
examples/consumers/node/node_modules/.package-lock.json: examples/consumers/node/package.json examples/consumers/node/package-lock.json
	npm ci --prefix examples/consumers/node --no-audit --no-fund

# axe-core, which the web console's browser tests run in each page (npm, pinned).
console/web/axe/node_modules/.package-lock.json: console/web/axe/package.json console/web/axe/package-lock.json
	npm ci --prefix console/web/axe --no-audit --no-fund

test-packaging: ## the systemd unit, checked by systemd-analyze (Debian's package systemd)
	$(GO) test -tags packaging -run '^TestSystemdUnit$$' ./cmd/newswatch/

bench: ## the benchmarks whose figures BENCHMARKS.md reports
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 30m ./matcher/

# bench-archive: ARCHIVE_ITEMS items in an embedded server's item archive, then the read floor, the
# decoded read, backtests of 1 and 10,000 rules and `newswatch backtest` itself over all of them.
# 1,000,000 items take about 5 minutes; CI does not run it.
ARCHIVE_ITEMS ?= 1000000

bench-archive: ## the item archive: read floor, backtest items/s, bytes on disk per item
	CGO_ENABLED=0 $(GO) build -o bin/bench/ ./cmd/newswatch
	GOGC=400 $(GO) test -run '^$$' -bench '^BenchmarkArchive$$' -benchtime 1x -timeout 60m ./internal/archivebench/ \
	  -args -test.v -archive.items=$(ARCHIVE_ITEMS) -archive.cli=$(CURDIR)/bin/bench/newswatch

# bench-scale: the daemon (a non-race build) against FEEDS simulated feeds on SCHEDULE, UNCHANGED of
# the polls finding nothing new; each phase (live, unchanged = all 304, changed = all 200) lasts
# PHASE (default: one interval, at least 1m). Takes minutes; CI does not run it. Smaller runs:
#   make bench-scale FEEDS=10000 SCHEDULE='@every 30s'
# SCALEFLAGS passes more: --workers N, --hosts N, --perf 60s (CPU profiles with perf), --dir DIR.
FEEDS      ?= 100000
SCHEDULE   ?= @every 5m
UNCHANGED  ?= 0.85
PHASE      ?= 0
SCALEFLAGS ?=

bench-scale: ## the daemon at scale against simulated feeds: polls/s, CPU per poll, lateness, memory, start-up
	CGO_ENABLED=0 $(GO) build -o bin/scale/ ./cmd/newswatch ./cmd/newswatch-feedsim
	$(GO) run ./internal/scalebench --bin bin/scale --feeds $(FEEDS) --schedule '$(SCHEDULE)' \
	  --unchanged $(UNCHANGED) --phase $(PHASE) $(SCALEFLAGS)

# FUZZ: every fuzz target, as package:Function.
FUZZ = config:FuzzParse config:FuzzParseInBatches config:FuzzCheckNesting \
  matcher:FuzzCompile matcher:FuzzMatchText matcher:FuzzTokenizeAgrees matcher:FuzzPrefilter \
  watcher:FuzzParseItems watcher:FuzzToUTF8 watcher:FuzzReadDocument watcher/source:FuzzSitemap \
  watcher/source:FuzzHTML watcher/source:FuzzTelegram watcher/source:FuzzMastodon \
  watcher/source:FuzzBluesky watcher/discover:FuzzPage watcher/article:FuzzExtract \
  notifier:FuzzReadItemEvent delivery:FuzzOptions story:FuzzAssign story:FuzzHost

fuzz: ## each fuzz target for FUZZTIME
	@set -e; for t in $(FUZZ); do \
	  echo "fuzz $${t#*:} in ./$${t%%:*}/"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/; \
	done

run: build ## the daemon on the example configuration (a built binary, which SIGTERM reaches; go run does not pass it on)
	./bin/newswatch run -c examples/newswatch.yaml
