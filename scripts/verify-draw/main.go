// Command verify-draw checks a waiting room's published pre-sale draw, so
// any fan can confirm the order was fixed by the committed seed:
//
//	go run ./scripts/verify-draw -url http://127.0.0.1:8080/v1/events/<id>/queue/draw
//	go run ./scripts/verify-draw -file draw.json -hash <seed hash published before the sale>
//	go run ./scripts/verify-draw -file draw.json -account <sub> [-event <id>]
//
// It reads the published document (see internal/draw for the format and the
// algorithm), runs draw.Verify and prints "draw verified: N entrants, seed
// hash <h>". The document proves only that the order follows from its own
// seed; that the seed is the one committed to before the sale is proved by
// comparing the hash with the one published then, which -hash does.
// -account prints that fan's entrant id and position; the event defaults to
// the document's eventId.
//
// Exit status: 0 when the draw verifies, 1 when it does not or the document
// cannot be read, 2 for bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/draw"
)

// maxDocument bounds what is read: a million entrants take about 60 MB.
const maxDocument = 256 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-draw", flag.ContinueOnError)
	fs.SetOutput(stderr)
	drawURL := fs.String("url", "", "URL of the published draw (GET /v1/events/<id>/queue/draw)")
	file := fs.String("file", "", "path of a saved draw document")
	hash := fs.String("hash", "", "seed hash published before the sale, to compare with the document's")
	account := fs.String("account", "", "account (sub) whose entrant id and position to print")
	event := fs.String("event", "", "event id for -account (default: the document's eventId)")
	timeout := fs.Duration("timeout", 60*time.Second, "time limit for fetching -url")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./scripts/verify-draw (-url URL | -file FILE) [-hash SEEDHASH] [-account SUB [-event ID]]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(msg string) int {
		fmt.Fprintf(stderr, "verify-draw: %s\n", msg)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case (*drawURL == "") == (*file == ""):
		return usage("give exactly one of -url and -file")
	case *event != "" && *account == "":
		return usage("-event only selects the event for -account")
	}

	var (
		raw []byte
		err error
	)
	if *drawURL != "" {
		raw, err = fetch(ctx, *drawURL, *timeout)
	} else {
		raw, err = readFile(*file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "verify-draw: %v\n", err)
		return 1
	}
	var doc draw.Published
	if err := json.Unmarshal(raw, &doc); err != nil {
		fmt.Fprintf(stderr, "verify-draw: the document is not a draw: %v\n", err)
		return 1
	}
	eventID := *event
	if *account != "" {
		if eventID == "" {
			eventID = doc.EventID
		}
		if eventID == "" {
			return usage("the document names no eventId: give -event")
		}
		if doc.EventID != "" && eventID != doc.EventID {
			return usage(fmt.Sprintf("-event %q, but the document is the draw of %q", eventID, doc.EventID))
		}
	}
	if doc.Seed == "" {
		// The seed is revealed only once the sale has opened; say so rather
		// than report a zero-byte seed.
		fmt.Fprintf(stdout, "draw not verified: the document has no shuffleSeed yet (seed hash %q); the seed is published after the sale opens\n", doc.SeedHash)
		return 1
	}
	if err := draw.Verify(doc); err != nil {
		fmt.Fprintln(stdout, err)
		return 1
	}
	seedHash := strings.ToLower(doc.SeedHash)
	if *hash != "" && !strings.EqualFold(strings.TrimSpace(*hash), seedHash) {
		fmt.Fprintf(stdout, "draw not verified: the document's seed hash %s is not the %s published before the sale\n", seedHash, strings.TrimSpace(*hash))
		return 1
	}
	fmt.Fprintf(stdout, "draw verified: %d entrants, seed hash %s\n", len(doc.Entrants), seedHash)
	if *hash != "" {
		fmt.Fprintln(stdout, "seed hash matches the one published before the sale")
	} else {
		fmt.Fprintln(stdout, "compare the seed hash with the one published before the sale (or pass -hash)")
	}

	if *account != "" {
		id := draw.EntrantID(eventID, *account)
		for _, e := range doc.Entrants {
			if e.Entrant == id {
				fmt.Fprintf(stdout, "account %s: entrant %s, position %d of %d\n", *account, id, e.Position, len(doc.Entrants))
				return 0
			}
		}
		fmt.Fprintf(stdout, "account %s: entrant %s is not in the draw (joined after the sale opened, or not at all)\n", *account, id)
	}
	return 0
}

func fetch(ctx context.Context, url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch draw: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch draw: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("fetch draw: %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(snippet)))
	}
	body, err := readAtMost(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch draw from %s: %w", url, err)
	}
	return body, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read draw: %w", err)
	}
	defer f.Close()
	body, err := readAtMost(f)
	if err != nil {
		return nil, fmt.Errorf("read draw %s: %w", path, err)
	}
	return body, nil
}

func readAtMost(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxDocument {
		return nil, fmt.Errorf("document larger than %d bytes", maxDocument)
	}
	return body, nil
}
