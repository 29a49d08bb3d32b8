package sqlstore

import (
	"reflect"
	"testing"
)

func TestRenumber(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`:                               `SELECT 1`,
		`a = ? AND b IN (?, ?)`:                  `a = $1 AND b IN ($2, $3)`,
		`status = '?' AND x = ? AND y = 'it''s'`: `status = '?' AND x = $1 AND y = 'it''s'`,
	} {
		if got := Renumber(in); got != want {
			t.Errorf("Renumber(%q) = %q, want %q", in, got, want)
		}
	}
	d := &Dialect{Numbered: true}
	if got := d.Q(`id = ?`); got != `id = $1` {
		t.Errorf("Q = %q", got)
	}
	if got := (&Dialect{}).Q(`id = ?`); got != `id = ?` {
		t.Errorf("Q without numbering = %q", got)
	}
}

func TestIn(t *testing.T) {
	cond, args := (&Dialect{}).In("request_id", []string{"a", "b"})
	if cond != "request_id IN (?, ?)" || !reflect.DeepEqual(args, []any{"a", "b"}) {
		t.Errorf("IN list = %q %v", cond, args)
	}
	cond, args = (&Dialect{AnyArray: true}).In("request_id", []string{"a", "b"})
	if cond != "request_id = ANY(?)" || !reflect.DeepEqual(args, []any{[]string{"a", "b"}}) {
		t.Errorf("ANY list = %q %v", cond, args)
	}
}
