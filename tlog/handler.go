package tlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/note"
)

// DefaultMaxEntries is how many entries Handler serves per call unless told
// otherwise: large pages keep a full verification to a few hundred calls
// per million entries, and a page of events of a few hundred bytes each
// stays at a few megabytes.
const DefaultMaxEntries = 10000

// Handler serves the log endpoints of docs/design.md §4 from a Storage, with the
// exact shapes the package documentation gives:
//
//	GET /v1/log/key
//	GET /v1/tenants/{id}/log/checkpoint
//	GET /v1/tenants/{id}/log/entries?start=&end=
//	GET /v1/tenants/{id}/log/proofs/inclusion?index=&size=
//	GET /v1/tenants/{id}/log/proofs/consistency?from=&to=
//
// It routes on the full path, so it can be mounted as is on a mux for
// "/v1/tenants/{id}/log/" and "GET /v1/log/key". The tenant id is the log
// name. Checkpoints are signed on each request from the integrated head (a
// signature costs tens of microseconds; Ed25519 is deterministic, so
// repeated calls give the same bytes).
type Handler struct {
	Storage Storage
	// Signer signs checkpoints; its name is the log origin.
	Signer note.Signer
	// VerifierKey is the public key of Signer, served by /v1/log/key (see
	// VerifierKey to derive it).
	VerifierKey string
	// Authorize, when set, runs first on every request with the log it asks
	// about ("" for the key). It answers the refusal itself, in the API's
	// error format, and returns false to stop there.
	Authorize func(w http.ResponseWriter, r *http.Request, log string) bool
	// MaxEntries caps the entries of one answer; 0 means DefaultMaxEntries.
	MaxEntries int
	// Logger receives internal errors, whose details the client never
	// sees; nil means slog.Default().
	Logger *slog.Logger

	once sync.Once
	mux  *http.ServeMux
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		h.mux = http.NewServeMux()
		h.mux.HandleFunc("GET /v1/log/key", h.key)
		h.mux.HandleFunc("GET /v1/tenants/{id}/log/checkpoint", h.checkpoint)
		h.mux.HandleFunc("GET /v1/tenants/{id}/log/entries", h.entries)
		h.mux.HandleFunc("GET /v1/tenants/{id}/log/proofs/inclusion", h.inclusion)
		h.mux.HandleFunc("GET /v1/tenants/{id}/log/proofs/consistency", h.consistency)
		h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not_found", "no such log endpoint: "+r.Method+" "+r.URL.Path)
		})
	})
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) key(w http.ResponseWriter, r *http.Request) {
	if h.Authorize != nil && !h.Authorize(w, r, "") {
		return
	}
	writeJSON(w, KeyResponse{Key: h.VerifierKey})
}

func (h *Handler) checkpoint(w http.ResponseWriter, r *http.Request) {
	log, ok := h.open(w, r)
	if !ok {
		return
	}
	head, err := treeHead(r.Context(), h.Storage, log)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg, err := SignCheckpoint(h.Signer, CheckpointOrigin(h.Signer.Name(), log), head)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(msg)
}

func (h *Handler) entries(w http.ResponseWriter, r *http.Request) {
	log, ok := h.open(w, r)
	if !ok {
		return
	}
	limit := uint64(h.MaxEntries)
	if limit == 0 {
		limit = DefaultMaxEntries
	}
	start, ok := queryUint(w, r, "start", 0)
	if !ok {
		return
	}
	end, ok := queryUint(w, r, "end", start+limit)
	if !ok {
		return
	}
	if end < start {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("end %d is before start %d", end, start))
		return
	}
	end = min(end, start+limit)
	leaves, err := h.Storage.Leaves(r.Context(), log, start, end)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	size := 32
	for _, l := range leaves {
		size += 64 + 7*len(l)/3
	}
	body := AppendEntriesJSON(make([]byte, 0, size), start, leaves)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (h *Handler) inclusion(w http.ResponseWriter, r *http.Request) {
	log, ok := h.open(w, r)
	if !ok {
		return
	}
	index, ok := queryUint(w, r, "index", noDefault)
	if !ok {
		return
	}
	size, ok := queryUint(w, r, "size", noDefault)
	if !ok {
		return
	}
	hashes, err := InclusionProof(r.Context(), h.Storage, log, index, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, ProofResponse{Hashes: hashes})
}

func (h *Handler) consistency(w http.ResponseWriter, r *http.Request) {
	log, ok := h.open(w, r)
	if !ok {
		return
	}
	from, ok := queryUint(w, r, "from", noDefault)
	if !ok {
		return
	}
	to, ok := queryUint(w, r, "to", noDefault)
	if !ok {
		return
	}
	hashes, err := ConsistencyProof(r.Context(), h.Storage, log, from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, ProofResponse{Hashes: hashes})
}

// open authorizes a request about one tenant log and returns the log name.
func (h *Handler) open(w http.ResponseWriter, r *http.Request) (string, bool) {
	log := r.PathValue("id")
	if h.Authorize != nil && !h.Authorize(w, r, log) {
		return "", false
	}
	return log, true
}

// fail answers an error: 422 for a size or index the log does not have,
// 500 without details for everything else.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrOutOfRange) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	}
	if r.Context().Err() != nil {
		return // the client went away
	}
	logger := h.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.Error("tlog: serving the log", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error: the server logged the cause")
}

// noDefault marks a query parameter as required.
const noDefault = ^uint64(0)

// queryUint reads a non-negative integer query parameter; when it is
// missing or malformed it answers 400 and returns false, and the caller
// must write nothing more.
func queryUint(w http.ResponseWriter, r *http.Request, name string, def uint64) (uint64, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		if def == noDefault {
			writeError(w, http.StatusBadRequest, "bad_request", "the query parameter "+name+" is required")
			return 0, false
		}
		return def, true
	}
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("the query parameter %s=%q is not a non-negative integer", name, s))
		return 0, false
	}
	return v, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// errorResponse is the API's error shape (docs/design.md §4).
type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var e errorResponse
	e.Error.Code, e.Error.Message = code, message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}
