package catalog

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/limits"
)

func TestParseCreateEventTakesShapes(t *testing.T) {
	b := validBody()
	secs := b["sections"].([]any)
	secs[0].(map[string]any)["shape"] = map[string]any{"arc": map[string]any{"inner": 30, "outer": 32, "from": -40, "to": 40}}
	secs[1].(map[string]any)["shape"] = map[string]any{"polygon": []any{[]any{-10, 2}, []any{10, 2}, []any{10, 20}, []any{-10, 20}}}
	ev, err := ParseCreateEvent(mustJSON(t, b), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a := ev.Sections[0].Shape; a == nil || a.Arc == nil || *a.Arc != (Arc{Inner: 30, Outer: 32, From: -40, To: 40}) {
		t.Fatalf("section A's shape = %+v", a)
	}
	if p := ev.Sections[1].Shape; p == nil || len(p.Polygon) != 4 || p.Polygon[2][1] != 20 {
		t.Fatalf("section GA's shape = %+v", p)
	}
	// WithLayout keeps what the organizer gave.
	if got := WithLayout(ev.Sections); !reflect.DeepEqual(got, ev.Sections) {
		t.Fatalf("WithLayout changed given shapes: %+v", got)
	}
}

func TestParseCreateEventRejectsShapes(t *testing.T) {
	square := []any{[]any{0, 0}, []any{10, 0}, []any{10, 10}, []any{0, 10}}
	arc := func(inner, outer, from, to float64) map[string]any {
		return map[string]any{"arc": map[string]any{"inner": inner, "outer": outer, "from": from, "to": to}}
	}
	cases := []struct {
		name  string
		shape any
		want  apperr.Code
	}{
		{"Empty", map[string]any{}, apperr.Invalid},
		{"Both", map[string]any{"polygon": square, "arc": arc(1, 2, 0, 10)["arc"]}, apperr.Invalid},
		{"UnknownKind", map[string]any{"circle": 5}, apperr.UnknownField},
		{"TwoPoints", map[string]any{"polygon": square[:2]}, apperr.Invalid},
		{"TooManyPoints", map[string]any{"polygon": func() []any {
			var p []any
			for i := range limits.ShapePoints + 1 {
				a := 2 * math.Pi * float64(i) / float64(limits.ShapePoints+1)
				p = append(p, []any{100 * math.Cos(a), 100 + 100*math.Sin(a)})
			}
			return p
		}()}, apperr.Invalid},
		{"PointOfThree", map[string]any{"polygon": []any{[]any{0, 0, 1}, []any{10, 0}, []any{10, 10}}}, apperr.Invalid},
		{"OutsideTheVenue", map[string]any{"polygon": []any{[]any{0, 0}, []any{limits.VenueExtent + 1, 0}, []any{10, 10}}}, apperr.InvalidVenue},
		{"NoArea", map[string]any{"polygon": []any{[]any{0, 0}, []any{10, 0}, []any{20, 0}}}, apperr.InvalidVenue},
		{"InnerBeyondOuter", arc(20, 10, 0, 10), apperr.InvalidVenue},
		{"NegativeRadius", arc(-1, 10, 0, 10), apperr.InvalidVenue},
		{"AnglesBackwards", arc(10, 20, 30, 10), apperr.InvalidVenue},
		{"AngleBeyondHalfTurn", arc(10, 20, -190, 10), apperr.InvalidVenue},
		{"PointsAsNumbers", map[string]any{"polygon": []any{1, 2, 3}}, apperr.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := validBody()
			b["sections"].([]any)[0].(map[string]any)["shape"] = tc.shape
			_, err := ParseCreateEvent(mustJSON(t, b), 1<<20)
			if got := apperr.CodeOf(err); got != tc.want {
				t.Fatalf("code = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

// reserved is a section of rows×seats.
func reserved(id string, rows, seats int) Section {
	s := Section{ID: id, Kind: Reserved, Capacity: rows * seats}
	for r := 1; r <= rows; r++ {
		s.Rows = append(s.Rows, Row{ID: fmt.Sprint(r), Seats: seats})
	}
	return s
}

// TestWithLayoutPlacesEverySection: the generated layout gives every
// section a valid shape, puts the standing floor in front of the stage and
// the seated rings beyond it without two sections of a ring overlapping,
// keeps within the venue for the largest venues, and is the same on every
// read.
func TestWithLayoutPlacesEverySection(t *testing.T) {
	venues := map[string][]Section{
		"demo": {reserved("A", 40, 100), reserved("B", 40, 100), reserved("C", 40, 100), reserved("D", 40, 100), reserved("E", 40, 100),
			{ID: "GA", Kind: GA, Capacity: 2000}},
		"one row": {reserved("S", 1, 8)},
		"widest rows": func() []Section {
			var s []Section
			for i := range limits.EventCapacity / (1000 * 250) {
				s = append(s, reserved(fmt.Sprint("W", i), 250, 1000))
			}
			return s
		}(),
		"many small": func() []Section {
			var s []Section
			for i := range limits.Sections {
				s = append(s, reserved(fmt.Sprint("M", i), 50, 50))
			}
			return s
		}(),
		"standing only": {{ID: "F", Kind: GA, Capacity: limits.GACapacity}, {ID: "G", Kind: GA, Capacity: 10}},
	}
	for name, secs := range venues {
		t.Run(name, func(t *testing.T) {
			before := fmt.Sprint(secs)
			got := WithLayout(secs)
			if fmt.Sprint(secs) != before {
				t.Fatal("WithLayout changed its argument")
			}
			if !reflect.DeepEqual(got, WithLayout(secs)) {
				t.Fatal("two layouts of one venue differ")
			}
			floor := 0.0
			type band struct{ in, out, from, to float64 }
			var arcs []band
			for _, s := range got {
				if s.Shape == nil {
					t.Fatalf("section %s has no shape", s.ID)
				}
				if err := checkShape(s.ID, s.Shape); err != nil {
					t.Fatalf("section %s: generated shape %+v is invalid: %v", s.ID, s.Shape, err)
				}
				if s.Kind == GA {
					if s.Shape.Polygon == nil {
						t.Fatalf("standing section %s is not a block of floor: %+v", s.ID, s.Shape)
					}
					for _, p := range s.Shape.Polygon {
						if p[1] <= 0 {
							t.Fatalf("standing section %s reaches behind the stage: %v", s.ID, p)
						}
					}
					floor = max(floor, reach(s.Shape))
					continue
				}
				a := s.Shape.Arc
				if a == nil {
					t.Fatalf("seated section %s is not an arc: %+v", s.ID, s.Shape)
				}
				if d := a.Outer - a.Inner; math.Abs(d-float64(len(s.Rows))*rowPitch) > 0.2 {
					t.Errorf("section %s: %d rows in an arc %.1f deep", s.ID, len(s.Rows), d)
				}
				arcs = append(arcs, band{a.Inner, a.Outer, a.From, a.To})
			}
			for i, a := range arcs {
				if a.in < floor {
					t.Errorf("an arc starts at %.1f, inside the floor (%.1f)", a.in, floor)
				}
				for _, b := range arcs[i+1:] {
					if a.in < b.out && b.in < a.out && a.from < b.to && b.from < a.to {
						t.Errorf("arcs %+v and %+v overlap", a, b)
					}
				}
			}
		})
	}
}

// TestWithLayoutGoesAroundGivenShapes: sections without a shape are
// placed beyond those with one.
func TestWithLayoutGoesAroundGivenShapes(t *testing.T) {
	given := reserved("A", 10, 20)
	given.Shape = &Shape{Arc: &Arc{Inner: 20, Outer: 28, From: -30, To: 30}}
	got := WithLayout([]Section{given, reserved("B", 10, 20), {ID: "GA", Kind: GA, Capacity: 100}})
	if !reflect.DeepEqual(got[0].Shape, given.Shape) {
		t.Fatalf("the given shape changed: %+v", got[0].Shape)
	}
	for _, s := range got[1:] {
		for _, p := range s.Shape.Polygon {
			if math.Hypot(p[0], p[1]) < 28 {
				t.Errorf("section %s at %v lies inside the given arc", s.ID, p)
			}
		}
		if a := s.Shape.Arc; a != nil && a.Inner < 28 {
			t.Errorf("section %s starts at radius %.1f, inside the given arc", s.ID, a.Inner)
		}
	}
}
