// Package webtest drives the fan site, the organizer console and the gate
// page (web/) in headless Chromium against the local stack started
// in-process: an organizer creates an event and runs its sale, a fan
// queues, picks seats, pays on the sandbox pay page and gets ticket QR
// codes, the report moves, and a scanner admits a ticket on the gate page.
// It runs with go test ./... and skips only when Chromium is absent and
// STARARENA_REQUIRE_BROWSER is unset.
package webtest
