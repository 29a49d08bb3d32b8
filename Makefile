# lockbox — common tasks. `make test` is what CI runs (.ci/run).

GO ?= go
PKGS := ./...

.PHONY: all build demo test check bench fmt

all: build

build:
	$(GO) build -o bin/lockbox ./cmd/lockbox

# Run the demo: a server on a fresh embedded database with seeded people.
demo: build
	bin/lockbox demo

# The whole test suite: formatting, vet, and every test with the race detector.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)

# Benchmarks whose figures go into the notes.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./bench/

fmt:
	gofmt -w $$(git ls-files '*.go')
