# The tablet: build, test, run the sandbox. `make help` lists the targets.
GO       ?= go
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X main.version=$(VERSION)
# Whole suite, real servers included. -p 2 matches the 2 cores CI has.
TESTFLAGS ?= -race -count=1 -p 2 -timeout 15m

.PHONY: help deps build test test-short run bench proto lint clean

help:
	@echo "make build       build bin/tablet"
	@echo "make test        every test, real mysqld/etcd included (installs what it needs)"
	@echo "make test-short  unit tests only, no servers (go test -short)"
	@echo "make run         the sandbox: mysqld + etcd + tablet, state in .sandbox/"
	@echo "make bench       Go benchmarks"
	@echo "make proto       regenerate the protobuf code"
	@echo "make lint        gofmt + go vet"

deps:
	@scripts/install-deps.sh
	@$(GO) mod download

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tablet ./cmd/tablet

# gotestsum prints one line per test (PASS/SKIP/FAIL with its name), so the
# log shows which real-server tests ran, and the output of those that fail.
test: deps build
	$(GO) tool gotestsum --format testname --format-hide-empty-pkg -- $(TESTFLAGS) ./...
	@scripts/check-leftovers.sh

test-short:
	$(GO) test -short -count=1 ./...

run: deps build
	$(GO) build -o bin/sandbox ./testenv/sandbox
	bin/sandbox --dir .sandbox --tablet bin/tablet

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./...

proto:
	@scripts/install-deps.sh protoc
	protoc --plugin=protoc-gen-go="$$($(GO) tool -n protoc-gen-go)" \
		--plugin=protoc-gen-go-grpc="$$($(GO) tool -n protoc-gen-go-grpc)" \
		--go_out=. --go_opt=module=github.com/tabletd/tablet \
		--go-grpc_out=. --go-grpc_opt=module=github.com/tabletd/tablet \
		-I proto proto/*.proto

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
