package localsfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// LambdaFunc is one function behind LambdaEndpoint: it gets the invocation
// payload and returns the response payload, like a Lambda handler.
type LambdaFunc func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// FunctionError is an error with a Lambda error type. Returned from a
// LambdaFunc (or wrapped), its Type becomes the function error's errorType,
// which ASL Retry and Catch match by name, e.g. TicketIssuerUnavailable.
// Any error with an ErrorType() string method works the same way.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string     { return e.Type + ": " + e.Message }
func (e *FunctionError) ErrorType() string { return e.Type }

// maxPayload is Lambda's limit for a synchronous invocation's request.
const maxPayload = 6 << 20

// LambdaEndpoint serves the Lambda Invoke API shape for funcs, so the sidecar
// (or any Lambda client given this endpoint) can call them:
//
//	POST /2015-03-31/functions/{name}/invocations
//
// {name} may also be a function ARN. A function's result is answered with 200.
// A function error is answered as Lambda does: 200 with
// X-Amz-Function-Error: Unhandled and {"errorType","errorMessage"}, the type
// from the error's ErrorType() method, else "Error"; a panic is reported the
// same way, typed by its value as the Go Lambda runtime does. An unknown
// function gets 404 with X-Amzn-ErrorType: ResourceNotFoundException. Only
// RequestResponse invocations are served.
func LambdaEndpoint(funcs map[string]LambdaFunc) http.Handler {
	fns := make(map[string]LambdaFunc, len(funcs))
	for name, fn := range funcs {
		fns[name] = fn
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		name := functionName(r.PathValue("name"))
		fn := fns[name]
		if fn == nil {
			apiError(w, http.StatusNotFound, "ResourceNotFoundException",
				fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", Region, Account, name))
			return
		}
		if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
			apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
				fmt.Sprintf("InvocationType %s is not emulated locally; only RequestResponse", t))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
			return
		case err != nil:
			apiError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
			return
		}
		if len(body) == 0 {
			body = []byte("{}")
		}
		if !json.Valid(body) {
			apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
			return
		}
		out, errType, err := call(r.Context(), fn, body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		if err == nil && out == nil {
			out = json.RawMessage("null")
		}
		if err == nil && !json.Valid(out) {
			errType, err = "Runtime.MarshalError", fmt.Errorf("function %s returned invalid JSON", name)
		}
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			b, _ := json.Marshal(struct {
				ErrorType    string `json:"errorType"`
				ErrorMessage string `json:"errorMessage"`
			}{errType, err.Error()})
			out = b
		}
		_, _ = w.Write(out)
	})
	return mux
}

// call runs fn, turning a panic into a function error the way the Go Lambda
// runtime reports one (errorType = the panic value's type name).
func call(ctx context.Context, fn LambdaFunc, payload json.RawMessage) (out json.RawMessage, errType string, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, errType, err = nil, typeName(v), fmt.Errorf("%v", v)
			if e, ok := v.(error); ok {
				err = e
				if t := typeOf(e); t != "Error" {
					errType = t
				}
			}
		}
	}()
	out, err = fn(ctx, payload)
	if err != nil {
		return nil, typeOf(err), err
	}
	return out, "", nil
}

func typeOf(err error) string {
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) && typed.ErrorType() != "" {
		return typed.ErrorType()
	}
	return "Error"
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "Runtime.Panic"
	}
	return t.Name()
}

// functionName accepts a name, name:qualifier, or a (partial) ARN.
func functionName(ref string) string {
	if i := strings.Index(ref, ":function:"); i >= 0 {
		ref = ref[i+len(":function:"):]
	}
	name, _, _ := strings.Cut(ref, ":")
	return name
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}{"User", msg})
	_, _ = w.Write(b)
}
