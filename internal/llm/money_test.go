package llm

import "testing"

func TestParseMicros(t *testing.T) {
	tests := []struct {
		in   string
		want Micros
		ok   bool
	}{
		{"3", 3_000_000, true},
		{"0.075", 75_000, true},
		{".5", 500_000, true},
		{"1.25", 1_250_000, true},
		{"0.000001", 1, true},
		{"0.15000000", 150_000, true},
		{"0.0000001", 0, false},
		{"-1", 0, false},
		{"1e-6", 0, false},
		{"abc", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMicros(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseMicros(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	if s := Micros(75_000).String(); s != "0.075" {
		t.Fatalf("got %s", s)
	}
	if s := Micros(3_000_000).String(); s != "3" {
		t.Fatalf("got %s", s)
	}
	if s := PicoUSD(1_500_000).String(); s != "0.0000015" {
		t.Fatalf("got %s", s)
	}
	if s := PicoUSD(-2_000_000_000_000).String(); s != "-2" {
		t.Fatalf("got %s", s)
	}
}

func FuzzParseMicros(f *testing.F) {
	for _, s := range []string{"3", "0.075", ".5", "1.000000", "99999999.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMicros(s)
		if err != nil {
			return
		}
		if m < 0 {
			t.Fatalf("negative result %d for %q", m, s)
		}
		back, err := ParseMicros(m.String())
		if err != nil || back != m {
			t.Fatalf("round trip of %q: %s -> %d, %v", s, m, back, err)
		}
	})
}

func TestParsePicoUSD(t *testing.T) {
	for in, want := range map[string]PicoUSD{"0.011475000000": 11_475_000_000, "0": 0, "12.5": 12_500_000_000_000, "0.000000000001": 1, "-1": -1_000_000_000_000} {
		if got, err := ParsePicoUSD(in); err != nil || got != want {
			t.Errorf("ParsePicoUSD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParsePicoUSD("1.0000000000001"); err == nil {
		t.Error("13 places accepted")
	}
}
