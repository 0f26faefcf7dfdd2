# Outpost: the verbs users and CI need. Each target calls Go tooling.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/outpost-nms/outpost/shared/buildinfo.version=$(VERSION)
BIN      := bin
FUZZTIME ?= 10s
BENCHTIME ?= 1x
export CGO_ENABLED ?= 0
# chronyd/chronyc for the chrony tests, where .ci/run extracts them
# (Debian's chrony package conflicts with ntpsec).
export OUTPOST_CHRONYD ?= $(wildcard /opt/chrony/usr/sbin/chronyd)
export OUTPOST_CHRONYC ?= $(wildcard /opt/chrony/usr/bin/chronyc)

.PHONY: all build test test-short bench fuzz lint demo package clean

all: build

## build: static, stripped binaries in bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/outpost-agent ./agent/cmd/outpost-agent
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/outpost-collector ./collector/cmd/outpost-collector

## test: every test, against the real peers (snmpd, ntpd, rrdtool, chromium)
test: lint
	$(GO) test -count=1 -timeout 20m ./...

## test-short: unit tests only (no real peers, no processes)
test-short:
	$(GO) test -short -count=1 ./...

## bench: benchmarks side by side with the reference tools
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...

## fuzz: run every fuzz target for FUZZTIME (default 10s; make fuzz FUZZTIME=1m)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg; \
	  done; \
	done

## lint: gofmt and go vet must be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## demo: a collector, an enrolled agent and a simulated site on loopback; prints the UI address and login
demo: build
	$(BIN)/outpost-collector demo --dir .demo

## package: .deb and .rpm (amd64, arm64; agent also armv7) and the Windows agent zip in dist/
package:
	packaging/build.sh

clean:
	rm -rf $(BIN) dist
