// Package webtest drives the fan site and the organizer console (web/) in
// headless Chromium against the local stack started in-process: an
// organizer creates an event and runs its sale, a fan queues, picks seats,
// pays on the sandbox pay page and gets ticket QR codes, and the report
// moves. It runs with go test ./... and skips only when Chromium is absent
// and STARARENA_REQUIRE_BROWSER is unset.
package webtest
