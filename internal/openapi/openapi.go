// Package openapi loads StarArena's public contract, docs/openapi.yaml, and
// checks real HTTP requests and responses against it. Tests use it to keep
// the document true: a response whose status, content type, headers or body
// the document does not describe is an error.
package openapi

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Module is the module path whose go.mod marks the repository root.
const Module = "github.com/stararena/stararena"

// SpecFile is the contract's path from the repository root.
const SpecFile = "docs/openapi.yaml"

// LocalOnlyExtension marks operations that only the local stack serves.
const LocalOnlyExtension = "x-local-only"

// Spec is a loaded, checked OpenAPI document and its validator. It is safe
// for concurrent use.
type Spec struct {
	// Path is the file the spec was read from.
	Path string
	// Model is the parsed OpenAPI 3.1 document.
	Model *v3.Document
	// Root is the document as YAML, for checks that read keywords or
	// extensions wherever they are (the model resolves references and
	// drops the places they were written).
	Root *yaml.Node

	mu sync.Mutex
	v  validator.Validator
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory whose go.mod declares Module. Tests run in their
// package directory, so this finds the root from any of them.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("openapi: no go.mod of module %s at or above the working directory", Module)
		}
		dir = parent
	}
}

func isModuleRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "module ")), `"`) == Module
		}
	}
	return false
}

// DefaultPath is the absolute path of docs/openapi.yaml.
func DefaultPath() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, SpecFile), nil
}

// LoadDefault loads docs/openapi.yaml of the repository.
func LoadDefault() (*Spec, error) {
	path, err := DefaultPath()
	if err != nil {
		return nil, err
	}
	return Load(path)
}

// Load reads an OpenAPI 3.1 document, checks it against the OpenAPI
// specification's own schema and builds a validator that asserts formats
// (date-time, ...) and rejects undocumented response statuses.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		return nil, fmt.Errorf("openapi: parse %s: %w", path, err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		return nil, fmt.Errorf("openapi: %s is OpenAPI %q; want 3.1", path, v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapi: build model of %s: %w", path, err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi: validator for %s: %w", path, errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi: %s is not a valid OpenAPI document:\n%s", path, Describe(verrs))
	}
	return &Spec{Path: path, Model: &model.Model, Root: doc.GetSpecInfo().RootNode, v: v}, nil
}

// Validator is the underlying libopenapi-validator.
func (s *Spec) Validator() validator.Validator { return s.v }

// ValidateRequest checks a request (path, parameters, security, body)
// against the operation it targets. The body is left readable.
func (s *Spec) ValidateRequest(r *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok, errs := s.v.ValidateHttpRequestSync(r); !ok {
		return fmt.Errorf("%s %s: request does not match %s:\n%s", r.Method, r.URL.Path, SpecFile, Describe(errs))
	}
	return nil
}

// ValidateResponse checks a real response to r: its status must be
// documented for the operation, its Content-Type must be one the status
// declares, its documented headers must be present and valid and its body
// must match the schema. The response body is left readable.
func (s *Spec) ValidateResponse(r *http.Request, resp *http.Response) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok, errs := s.v.ValidateHttpResponse(r, resp); !ok {
		return fmt.Errorf("%s %s: %d response does not match %s:\n%s", r.Method, r.URL.Path, resp.StatusCode, SpecFile, Describe(errs))
	}
	return nil
}

// Describe renders validation errors one per line, with the failing schema
// locations.
func Describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s", e.Message, e.Reason)
		if e.SpecLine > 0 {
			fmt.Fprintf(&b, " (spec line %d)", e.SpecLine)
		}
		b.WriteByte('\n')
		for _, f := range e.SchemaValidationErrors {
			loc := f.FieldPath
			if loc == "" {
				loc = "$"
			}
			fmt.Fprintf(&b, "      %s: %s [%s]\n", loc, f.Reason, f.KeywordLocation)
		}
	}
	return b.String()
}

// Operation is one method on one path of the document.
type Operation struct {
	Method string // GET, POST, ...
	Path   string // /v1/events/{eventId}
	ID     string // operationId
	// LocalOnly is the x-local-only extension: served by the local stack
	// only, never deployed.
	LocalOnly bool
	// Security lists the security scheme names of the operation (nil for a
	// public operation).
	Security []string
	// Statuses are the documented response codes.
	Statuses []string
}

// Key is "METHOD /path", the topology's route key.
func (o Operation) Key() string { return o.Method + " " + o.Path }

// Operations lists the document's operations sorted by key.
func (s *Spec) Operations() []Operation {
	var ops []Operation
	if s.Model.Paths == nil || s.Model.Paths.PathItems == nil {
		return nil
	}
	for p := s.Model.Paths.PathItems.First(); p != nil; p = p.Next() {
		for o := p.Value().GetOperations().First(); o != nil; o = o.Next() {
			op := o.Value()
			out := Operation{Method: strings.ToUpper(o.Key()), Path: p.Key(), ID: op.OperationId}
			if op.Extensions != nil {
				if n, ok := op.Extensions.Get(LocalOnlyExtension); ok && n != nil && n.Value == "true" {
					out.LocalOnly = true
				}
			}
			security := op.Security
			if security == nil {
				security = s.Model.Security
			}
			for _, req := range security {
				if req == nil || req.Requirements == nil {
					continue
				}
				for r := req.Requirements.First(); r != nil; r = r.Next() {
					out.Security = append(out.Security, r.Key())
				}
			}
			if op.Responses != nil && op.Responses.Codes != nil {
				for c := op.Responses.Codes.First(); c != nil; c = c.Next() {
					out.Statuses = append(out.Statuses, c.Key())
				}
			}
			ops = append(ops, out)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Key() < ops[j].Key() })
	return ops
}
