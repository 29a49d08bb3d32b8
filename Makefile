# lockbox — common tasks. `make test` is what CI runs (.ci/run).

GO ?= go
PKGS := ./...

# Build and test with Go 1.27.3: the machine's Go 1.26.8 has standard-library
# vulnerabilities that lockbox's code reaches (html/template, net/http,
# crypto/x509; see docs/adversarial.md). The go command fetches this
# toolchain from the Go module proxy on first use (about 20 s).
export GOTOOLCHAIN := go1.27.3

# govulncheck and its database, built from the golang.org/x/vulndb module
# (the proxy serves it; vuln.go.dev need not be reachable).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
DEADCODE := golang.org/x/tools/cmd/deadcode@v0.52.0
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB := $(HOME)/.cache/lockbox/vulndb-$(VULNDB_VERSION)

.PHONY: all build demo test postgres-up browser bench fmt fuzz vulncheck deadcode

all: build

build:
	$(GO) build -o bin/lockbox ./cmd/lockbox

# Run the demo: a server on a fresh embedded database with seeded people.
demo: build
	bin/lockbox demo

# The whole test suite: formatting, vet, staticcheck, deadcode, and every test with the race
# detector; then the API tests again on PostgreSQL (127.0.0.1:5432, a fresh
# schema per test; LOCKBOX_TEST_POSTGRES overrides the URL). The store
# conformance suite runs on both engines in the first pass. Then the JIT
# policy benchmark module (bench/policy) is vetted, its equivalence test
# run and each benchmark run once, so it keeps building; every fuzz target
# runs for a few seconds; and govulncheck checks the module.
test: postgres-up browser
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	$(MAKE) deadcode
	$(GO) test -race -count=1 $(PKGS)
	LOCKBOX_TEST_ENGINE=postgres $(GO) test -race -count=1 ./httpapi/
	cd bench/policy && $(GO) vet ./... && $(GO) test -count=1 -run . -bench . -benchtime 1x ./...
	FUZZTIME=3s scripts/fuzz.sh
	$(MAKE) vulncheck

# Every fuzz target for FUZZTIME each (default here: 1m).
fuzz:
	FUZZTIME=$${FUZZTIME:-1m} scripts/fuzz.sh

# govulncheck over the module; the database is built once per version.
vulncheck:
	@if [ ! -f $(VULNDB)/index/db.json ]; then \
	  echo "building the vulnerability database $(VULNDB_VERSION)"; \
	  src=$$(cd $$(mktemp -d) && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -d "$$src/data/osv" || { echo "vulncheck: no OSV data in golang.org/x/vulndb@$(VULNDB_VERSION)"; exit 1; }; \
	  rm -rf $(VULNDB).tmp && $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns $$src/data/osv -out $(VULNDB).tmp && mv $(VULNDB).tmp $(VULNDB); \
	fi
	$(GO) run $(GOVULNCHECK) -db file://$(VULNDB) ./...

# Functions neither a command nor a test reaches. The client's exported
# helpers (PathEscape, GoString for %#v) are API for its users, not dead.
deadcode:
	@out=$$($(GO) run $(DEADCODE) -test ./...) || exit 1; \
	  out=$$(echo "$$out" | grep -v '^client/'); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi

# Start the machine's PostgreSQL if it is installed and stopped (idempotent).
postgres-up:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

# Install Debian's chromium for the portal's browser tests (web/), unless it
# is there already (idempotent). The tests fail without it when CI is set.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Benchmarks whose figures go into the notes. The JIT policy benchmark
# (Cedar next to OPA) is a module of its own, to keep OPA out of go.mod.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./bench/
	cd bench/policy && $(GO) test -run '^$$' -bench . -benchtime 20000x ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
