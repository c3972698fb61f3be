package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// MIME renders m as a raw RFC 5322 message from from: a multipart/related
// body holding the text and HTML alternatives and the inline images the
// HTML names by cid:, which mail clients show where data: URLs are
// blocked. SES sends it as is (SendEmail's Raw content).
func (m Message) MIME(from string) ([]byte, error) {
	if strings.ContainsAny(m.To+from, "\r\n") {
		return nil, fmt.Errorf("mail: header value with a line break")
	}
	var b bytes.Buffer
	related := multipart.NewWriter(&b)
	var altBody bytes.Buffer
	alt := multipart.NewWriter(&altBody)
	head := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=%q; type=\"multipart/alternative\"\r\n\r\n",
		from, m.To, mime.QEncoding.Encode("utf-8", m.Subject), related.Boundary())
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := alt.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := alt.Close(); err != nil {
		return nil, err
	}
	w, err := related.CreatePart(textproto.MIMEHeader{"Content-Type": {fmt.Sprintf("multipart/alternative; boundary=%q", alt.Boundary())}})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(altBody.Bytes()); err != nil {
		return nil, err
	}
	for _, img := range m.Images {
		w, err := related.CreatePart(textproto.MIMEHeader{"Content-Type": {"image/png"}, "Content-Transfer-Encoding": {"base64"},
			"Content-ID": {"<" + img.CID + ">"}, "Content-Disposition": {"inline"}})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(img.PNG)
		for len(enc) > 76 {
			if _, err := w.Write([]byte(enc[:76] + "\r\n")); err != nil {
				return nil, err
			}
			enc = enc[76:]
		}
		if _, err := w.Write([]byte(enc + "\r\n")); err != nil {
			return nil, err
		}
	}
	if err := related.Close(); err != nil {
		return nil, err
	}
	return append([]byte(head), b.Bytes()...), nil
}
