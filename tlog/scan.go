package tlog

import (
	"bytes"
	"encoding/json"
)

// A verifier reads every leaf of a log, a million for a busy tenant, and the
// server writes every one of them into its pages: encoding/json's
// byte-at-a-time state machine and its map decoding cost several seconds per
// million leaves. This file holds the single-pass scanner that replaces them
// for the two questions asked of every leaf: is it valid JSON (validJSON,
// which accepts exactly what json.Valid accepts), and what are the top-level
// members of this object (objectMembers). FuzzScan checks both against
// encoding/json.

// maxDepth is encoding/json's nesting limit, so that validJSON agrees with
// json.Valid even on absurd inputs.
const maxDepth = 10000

type scanner struct {
	b     []byte
	i     int
	depth int
}

// validJSON reports whether b is one JSON value, with optional surrounding
// whitespace: json.Valid, without its cost.
func validJSON(b []byte) bool {
	s := scanner{b: b}
	if !s.value() {
		return false
	}
	s.ws()
	return s.i == len(b)
}

// objectMembers calls visit with the raw key (quotes included) and the raw
// value of each member of the JSON object b, in order, and reports whether b
// is exactly one valid JSON object (surrounding whitespace allowed). visit
// may have been called for members before an error further on.
func objectMembers(b []byte, visit func(key, value []byte)) bool {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return false
	}
	if !s.object(s.visitor(visit)) {
		return false
	}
	s.ws()
	return s.i == len(b)
}

// visitor adapts visit to object's member callback.
func (s *scanner) visitor(visit func(key, value []byte)) func(key []byte) bool {
	return func(key []byte) bool {
		v := s.i
		if !s.value() {
			return false
		}
		visit(key, s.b[v:s.i])
		return true
	}
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value.
func (s *scanner) value() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(s.skipValue)
	case c == '[':
		return s.array(s.value)
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) skipValue([]byte) bool { return s.value() }

// object scans the object at s.i; for each member it calls member with the
// raw key (quotes included) and the scanner at the start of the value,
// which member must scan.
func (s *scanner) object(member func(key []byte) bool) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		k := s.i
		if !s.str() {
			return false
		}
		key := s.b[k:s.i]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		if !member(key) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array scans the array at s.i, calling elem with the scanner at the start
// of each element, which elem must scan.
func (s *scanner) array(elem func() bool) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// str scans a string. Like encoding/json, it leaves UTF-8 unchecked
// (decoding replaces invalid bytes) but refuses control characters and
// unknown escapes. Runs without escapes, all of a base64 leaf, are found
// with IndexByte.
func (s *scanner) str() bool {
	s.i++ // "
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return false
		}
		run := s.b[s.i : s.i+j]
		if k := bytes.IndexByte(run, '\\'); k >= 0 {
			run = run[:k]
		}
		for _, c := range run {
			if c < 0x20 {
				return false
			}
		}
		s.i += len(run)
		if s.b[s.i] == '"' {
			s.i++
			return true
		}
		s.i++ // \
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.i++
		case 'u':
			if s.i+4 >= len(s.b) {
				return false
			}
			for _, h := range s.b[s.i+1 : s.i+5] {
				if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
					return false
				}
			}
			s.i += 5
		default:
			return false
		}
	}
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// keyIs tells whether the raw JSON string key (quotes included, valid)
// means name.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key[1:len(key)-1]) == name
	}
	var k string
	return json.Unmarshal(key, &k) == nil && k == name
}

// jsonString decodes a raw JSON value that must be a string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 && validJSON(raw) {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}
