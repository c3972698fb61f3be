package devstack

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/mail"
)

// localMailQueue is the mail queue as the order workflow's tasks see it:
// SendMessage to the local queue.
type localMailQueue struct{ q *localsqs.Queue }

func (l localMailQueue) Enqueue(_ context.Context, r mail.Request) error {
	_, err := l.q.Send(r.Body(), nil)
	return err
}

// maxMailQuery bounds the to parameter: an address or an account id.
const maxMailQuery = 254

// mailQuery reads ?to=, an address or an account.
func mailQuery(r *http.Request) (string, error) {
	to := strings.TrimSpace(r.URL.Query().Get("to"))
	if to == "" || len(to) > maxMailQuery {
		return "", apperr.New(apperr.Invalid, "to is required: an address or an account (at most %d characters)", maxMailQuery)
	}
	return to, nil
}

// capturedMail is GET /dev/mail?to=<address or account>: the messages the
// stack captured for it, oldest first, as
// [{"to","subject","text","html","sentAt"}].
func (st *Stack) capturedMail(w http.ResponseWriter, r *http.Request) {
	to, err := mailQuery(r)
	if err != nil {
		httpapi.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st.Mail.For(to))
}

var mailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mail · StarArena (local)</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #ccc;border-radius:8px;margin:1rem 0;padding:1rem}
iframe{width:100%;height:32rem;border:1px solid #eee}</style></head>
<body><main><h1>Captured mail</h1>
<p>The local stack keeps email here instead of sending it.</p>
<form method="get" action="/dev/mail/"><label>Address or account <input name="to" value="{{.To}}"></label> <button>Show</button></form>
{{if .To}}<p>{{len .Messages}} message(s) for {{.To}}.</p>{{end}}
{{range .Messages}}<article><h2>{{.Subject}}</h2><p>To {{.To}} · {{.SentAt.Format "2006-01-02 15:04:05 MST"}}</p>
<iframe sandbox title="{{.Subject}}" srcdoc="{{.HTML}}"></iframe>
<details><summary>Text version</summary><pre>{{.Text}}</pre></details></article>
{{end}}</main></body></html>
`))

// mailPageHandler is /dev/mail/: the captured messages for an address or
// account, each HTML part in a sandboxed frame (no script runs).
func (st *Stack) mailPageHandler(w http.ResponseWriter, r *http.Request) {
	view := struct {
		To       string
		Messages []mail.Captured
	}{}
	if r.URL.Query().Has("to") {
		to, err := mailQuery(r)
		if err != nil {
			httpapi.WriteError(w, err)
			return
		}
		view.To, view.Messages = to, st.Mail.For(to)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = mailPage.Execute(w, view)
}
