# lockbox — common tasks. `make test` is what CI runs (.ci/run).

GO ?= go
PKGS := ./...

.PHONY: all build demo test postgres-up bench fmt

all: build

build:
	$(GO) build -o bin/lockbox ./cmd/lockbox

# Run the demo: a server on a fresh embedded database with seeded people.
demo: build
	bin/lockbox demo

# The whole test suite: formatting, vet, and every test with the race
# detector; then the API tests again on PostgreSQL (127.0.0.1:5432, a fresh
# schema per test; LOCKBOX_TEST_POSTGRES overrides the URL). The store
# conformance suite runs on both engines in the first pass.
test: postgres-up
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)
	LOCKBOX_TEST_ENGINE=postgres $(GO) test -race -count=1 ./httpapi/

# Start the machine's PostgreSQL if it is installed and stopped (idempotent).
postgres-up:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

# Benchmarks whose figures go into the notes.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./bench/

fmt:
	gofmt -w $$(git ls-files '*.go')
