package llm

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Micros is a fixed-point decimal with six places: prices in USD per
// million tokens, per-request prices in USD, and rate multipliers. Every
// published LLM price is a whole number of micro-dollars per million tokens,
// so tokens × Micros is an exact cost in pico-dollars with no float rounding.
type Micros int64

// PicoUSD is an exact amount of money in 10⁻¹² USD: the unit of every cost
// Aether computes. int64 holds up to about 9.2 million USD per value.
type PicoUSD int64

// ErrDecimal reports text that is not a non-negative decimal with at most six
// fractional digits.
var ErrDecimal = errors.New("not a non-negative decimal with at most 6 decimal places")

// ParseMicros parses plain decimal text such as "0.075" or "3". Exponents
// ("1.25e-1") and signs are refused: prices are written as plain decimals
// so they stay exact.
func ParseMicros(s string) (Micros, error) {
	v, err := parseFixed(s, 6, false)
	return Micros(v), err
}

// ParsePicoUSD parses a USD amount with up to twelve decimal places, as
// Postgres prints NUMERIC(24,12).
func ParsePicoUSD(s string) (PicoUSD, error) {
	v, err := parseFixed(s, 12, true)
	return PicoUSD(v), err
}

// parseFixed parses a decimal into an integer count of 10^-places units.
// Digits past places are accepted only when they are zeros.
func parseFixed(s string, places int, signed bool) (int64, error) {
	s = strings.TrimSpace(s)
	neg := false
	if signed {
		s, neg = strings.CutPrefix(s, "-")
	}
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, ErrDecimal
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > places {
		if strings.Trim(frac[places:], "0") != "" {
			return 0, ErrDecimal
		}
		frac = frac[:places]
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, ErrDecimal
			}
		}
	}
	scale := int64(1)
	for range places {
		scale *= 10
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/scale-1 {
		return 0, ErrDecimal
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", places-len(frac)), 10, 64)
	}
	v := w*scale + f
	if neg {
		v = -v
	}
	return v, nil
}

// String formats m as a plain decimal without trailing zeros ("0.075").
func (m Micros) String() string {
	return formatFixed(int64(m), 6)
}

// String formats p in USD with up to twelve decimal places.
func (p PicoUSD) String() string {
	return formatFixed(int64(p), 12)
}

// USD returns p as a float for display and metrics only; accounting sums
// use PicoUSD or Postgres NUMERIC.
func (p PicoUSD) USD() float64 { return float64(p) / 1e12 }

func formatFixed(v int64, places int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	if len(s) <= places {
		s = strings.Repeat("0", places-len(s)+1) + s
	}
	whole, frac := s[:len(s)-places], strings.TrimRight(s[len(s)-places:], "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
