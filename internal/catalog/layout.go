package catalog

import (
	"math"

	"github.com/stararena/stararena/internal/limits"
)

// Shape is where a section lies relative to the stage (ADR 27), in venue
// units (about a metre) with the origin at the middle of the stage's front
// edge, x across the stage (positive: the audience's right) and y away from
// it, into the audience. It is a polygon or an arc, never both.
type Shape struct {
	Polygon [][]float64 `json:"polygon,omitempty"`
	Arc     *Arc        `json:"arc,omitempty"`
}

// Arc is a ring segment around the stage: from radius Inner to Outer, and
// from angle From to To in degrees (0 straight out from the stage, positive
// to the audience's right). Reserved rows run along it, the first row on
// the inner edge.
type Arc struct {
	Inner float64 `json:"inner"`
	Outer float64 `json:"outer"`
	From  float64 `json:"from"`
	To    float64 `json:"to"`
}

// The sizes a generated layout gives a place, in venue units.
const (
	seatPitch    = 0.5 // across a row
	rowPitch     = 0.8 // from one row to the next
	standingArea = 0.5 // per general-admission place
	aisle        = 2.0 // between neighbouring sections
	fanSpan      = 150 // degrees a ring of seated sections covers
)

// checkShape validates a section's shape: INVALID_REQUEST for a shape that
// is not one (no kind or both, a point without two coordinates),
// INVALID_VENUE for one that is but cannot be drawn (out of the venue,
// no area, an arc that is not one).
func checkShape(section string, s *Shape) error {
	switch {
	case s.Polygon != nil && s.Arc != nil:
		return invalid("section %s: shape is a polygon or an arc, not both", section)
	case s.Arc != nil:
		a := s.Arc
		if !inVenue(a.Inner) || !inVenue(a.Outer) || a.Inner < 0 || a.Inner >= a.Outer {
			return venue("section %s: the arc's radii must satisfy 0 <= inner < outer <= %d", section, limits.VenueExtent)
		}
		if a.From < -180 || a.To > 180 || a.From >= a.To {
			return venue("section %s: the arc's angles must satisfy -180 <= from < to <= 180", section)
		}
		return nil
	case s.Polygon != nil:
		if len(s.Polygon) < 3 || len(s.Polygon) > limits.ShapePoints {
			return invalid("section %s: a polygon has 3 to %d points", section, limits.ShapePoints)
		}
		for _, p := range s.Polygon {
			if len(p) != 2 {
				return invalid("section %s: each polygon point is [x, y]", section)
			}
			if !inVenue(p[0]) || !inVenue(p[1]) {
				return venue("section %s: polygon points lie within ±%d of the stage", section, limits.VenueExtent)
			}
		}
		if math.Abs(area(s.Polygon)) < 1 {
			return venue("section %s: the polygon encloses no area", section)
		}
		return nil
	}
	return invalid("section %s: shape needs a polygon or an arc", section)
}

func inVenue(v float64) bool { return math.Abs(v) <= limits.VenueExtent }

// area is the polygon's signed area (the shoelace formula).
func area(pts [][]float64) float64 {
	var a float64
	for i, p := range pts {
		q := pts[(i+1)%len(pts)]
		a += p[0]*q[1] - q[0]*p[1]
	}
	return a / 2
}

// reach is how far from the stage a shape extends.
func reach(s *Shape) float64 {
	if s.Arc != nil {
		return s.Arc.Outer
	}
	var r float64
	for _, p := range s.Polygon {
		r = max(r, math.Hypot(p[0], p[1]))
	}
	return r
}

// WithLayout returns the sections with a shape each: the organizer's where
// given, else a generated one. Standing sections become blocks of floor in
// front of the stage, side by side; seated sections become arcs in rings
// beyond the floor (and beyond any shaped section), each as wide as its
// longest row and as deep as its rows, a ring holding the sections that
// fit in a fan of fanSpan degrees. The layout depends only on the
// sections, so it is computed when an event is shown rather than stored,
// and never differs between two reads.
func WithLayout(secs []Section) []Section {
	out := append([]Section(nil), secs...)
	var floor []int
	var seated []int
	var start float64 // where generated rings begin
	for i := range out {
		switch {
		case out[i].Shape != nil:
			start = max(start, reach(out[i].Shape)+aisle)
		case out[i].Kind == GA:
			floor = append(floor, i)
		default:
			seated = append(seated, i)
		}
	}
	// The floor: one row of blocks, as deep as a square of all its places.
	if len(floor) > 0 {
		total := 0
		for _, i := range floor {
			total += out[i].Capacity
		}
		depth := round(math.Max(6, math.Sqrt(float64(total)*standingArea)))
		width := float64(total) * standingArea / depth
		x := -(width + aisle*float64(len(floor)-1)) / 2
		y0 := start + aisle
		for _, i := range floor {
			w := round(math.Max(2, float64(out[i].Capacity)*standingArea/depth))
			out[i].Shape = &Shape{Polygon: [][]float64{{x, y0}, {x + w, y0}, {x + w, y0 + depth}, {x, y0 + depth}}}
			x = round(x + w + aisle)
		}
		start = math.Hypot(width/2+aisle, y0+depth)
	}
	// Rings of seated sections.
	span := fanSpan * math.Pi / 180
	inner := math.Max(start+aisle, 10)
	for len(seated) > 0 {
		var ring []int
		var widths []float64
		depth, sum := 0.0, 0.0
		for len(seated) > 0 {
			s := &out[seated[0]]
			w := float64(longestRow(s))*seatPitch + aisle
			d := float64(len(s.Rows)) * rowPitch
			if len(ring) > 0 && (sum+w)/(inner+math.Max(depth, d)/2) > span {
				break
			}
			ring, widths = append(ring, seated[0]), append(widths, w)
			sum += w
			depth = math.Max(depth, d)
			seated = seated[1:]
		}
		// A ring too wide for the fan at this radius moves out until it fits.
		mid := math.Max(inner+depth/2, sum/span)
		in := round(mid - depth/2)
		angle := -sum / mid / 2 * 180 / math.Pi
		for k, i := range ring {
			d := float64(len(out[i].Rows)) * rowPitch
			sweep := widths[k] / mid * 180 / math.Pi
			gap := aisle / mid * 180 / math.Pi / 2
			out[i].Shape = &Shape{Arc: &Arc{Inner: in, Outer: round(in + d), From: round(angle + gap), To: round(angle + sweep - gap)}}
			angle += sweep
		}
		inner = in + depth + aisle
	}
	return out
}

func longestRow(s *Section) int {
	n := 1
	for _, r := range s.Rows {
		n = max(n, r.Seats)
	}
	return n
}

// round keeps a tenth of a unit: enough to draw, short to send.
func round(v float64) float64 { return math.Round(v*10) / 10 }
