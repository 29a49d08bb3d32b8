package web

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"
)

// TestQRSVGDrawsEveryModule reads the SVG path back and compares it with
// the QR code's modules, quiet zone included.
func TestQRSVGDrawsEveryModule(t *testing.T) {
	text := "otpauth://totp/lockbox:bob@customer.example?algorithm=SHA1&digits=6&issuer=lockbox&period=30&secret=MWFX5HF2HKO4WIG7ROIG5MJP2MTZ76LW"
	svg, err := qrSVG(text)
	if err != nil {
		t.Fatal(err)
	}
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	dark := map[[2]int]bool{}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(string(svg), -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		dark[[2]int{x, y}] = true
	}
	n := code.Bounds().Dx()
	for y := range n {
		for x := range n {
			r, _, _, _ := code.At(x, y).RGBA()
			if want := r == 0; dark[[2]int{x + 4, y + 4}] != want {
				t.Fatalf("module (%d,%d): drawn %v, want dark %v", x, y, !want, want)
			}
		}
	}
	if !strings.Contains(string(svg), `viewBox="0 0 `+strconv.Itoa(n+8)+" "+strconv.Itoa(n+8)+`"`) {
		t.Error("the SVG has no 4-module quiet zone")
	}
	if strings.Contains(string(svg), "MWFX5HF2") {
		t.Error("the SVG carries the secret as text")
	}
}

func TestShortDurationAndTimeLeft(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{90 * time.Minute, "1 h 30 min left"}, {26 * time.Hour, "1 d 2 h left"}, {45 * time.Second, "45 s left"}, {time.Hour, "1 h left"}, {30 * time.Minute, "30 min left"}, {-time.Minute, "deadline passed"},
	} {
		if got := left(now.Add(c.d), now); got != c.want {
			t.Errorf("left(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestSafeNextStaysOnSite (issue 13, item 11): only clean same-origin
// paths survive; everything a browser could read as another site falls
// back to "/". Percent-encoded forms stay: a browser does not decode them
// in a Location header, so they name paths of this site.
func TestSafeNextStaysOnSite(t *testing.T) {
	for in, want := range map[string]string{
		"/requests/req_1": "/requests/req_1", "/requests/req_1?tab=log#x": "/requests/req_1?tab=log#x",
		"": "/", "https://evil.example/": "/", "//evil.example": "/", "/\\evil.example": "/",
		"/\t/evil.example": "/", "/\t\t/evil.example": "/", "/\r\n/evil.example": "/", "\t//evil.example": "/",
		"/ /evil.example": "/", "/requests/\x00": "/", "/requests/\x7f": "/", "/a\\..\\..\\/evil": "/",
		"/\u2028/evil.example": "/", "/\u00a0/evil.example": "/", "/\xff": "/", "javascript:alert(1)": "/",
		"/%09/evil.example": "/%09/evil.example", "/%2F%2Fevil.example": "/%2F%2Fevil.example", "/%5Cevil.example": "/%5Cevil.example",
		"evil.example": "/", "http:/evil.example": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDurationField(t *testing.T) {
	for in, want := range map[string]time.Duration{"8h": 8 * time.Hour, "1d 2h": 26 * time.Hour, "2d": 48 * time.Hour, "30m": 30 * time.Minute} {
		d, err := parseDurationField("x", in)
		if err != nil || d.D() != want {
			t.Errorf("parseDurationField(%q) = %v, %v; want %v", in, d.D(), err, want)
		}
	}
	if _, err := parseDurationField("decision deadline", "soon"); err == nil || !strings.Contains(err.Error(), "decision deadline") {
		t.Errorf("a bad duration: %v", err)
	}
}
