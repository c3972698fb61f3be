// Command mailer is the "mailer" Lambda function: it drains the mail queue
// and sends each cause's message once through Amazon SES.
package main

import "github.com/stararena/stararena/internal/app"

func main() { app.RunMailer() }
