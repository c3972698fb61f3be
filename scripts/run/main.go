// Command run starts the local stack (make run): every function in one
// process, an embedded DynamoDB, the site and a demo event.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/devstack"
	"github.com/stararena/stararena/internal/payments/providers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.FromEnv(os.Getenv, providers.All()...)
	if err != nil {
		return err
	}
	port, err := config.Int(os.Getenv, "PORT", 8080, 0, 65535)
	if err != nil {
		return err
	}
	web := os.Getenv("WEB_DIR")
	if web == "" {
		web = "web"
	}
	scale := 1.0
	if v := os.Getenv("SFN_TIME_SCALE"); v != "" {
		if scale, err = strconv.ParseFloat(v, 64); err != nil || scale <= 0 || scale > 1 {
			return fmt.Errorf("SFN_TIME_SCALE=%q: want a number in (0, 1]", v)
		}
	}
	started := time.Now()
	st, err := devstack.Start(ctx, devstack.Options{
		Addr:   fmt.Sprintf("127.0.0.1:%d", port),
		Config: cfg,
		WebDir: web,
		Demo:   os.Getenv("DEMO") != "off",
		// Waits of the order workflow and the sandbox's webhook delays.
		TimeScale:     scale,
		SandboxSecret: os.Getenv("SANDBOX_WEBHOOK_SECRET"),
		// SIGN_IN=hosted: the site signs in as it does against Cognito.
		SignIn: os.Getenv("SIGN_IN"),
		// Joins meet the WAF's bot check as in AWS; BOT_CHECK=off for
		// scripts that join without solving it.
		BotCheck: os.Getenv("BOT_CHECK") != "off",
		Logger:   app.NewLogger(os.Stderr, cfg.LogLevel),
	})
	if err != nil {
		return err
	}
	dyn := st.DynamoEndpoint + " (embedded minidyn)"
	if cfg.DynamoEndpoint != "" {
		dyn = cfg.DynamoEndpoint
	}
	fmt.Printf(`
StarArena local stack
  fan site           %[1]s/?event=%[2]s
  with waiting room  %[1]s/?event=%[5]s  (sale opens 2 minutes after start-up)
  organizer console  %[1]s/console/
  gate page          %[1]s/gate/
  API                %[1]s/v1/events
  dev tokens         curl -X POST %[1]s/dev/token -d '{"sub":"fan-1","role":"fan"}'
  DynamoDB           %[3]s
ready in %[4]s — press Ctrl-C to stop
`, st.URL(), devstack.DemoEventID, dyn, time.Since(started).Round(time.Millisecond), devstack.DemoQueueEventID)
	<-ctx.Done()
	fmt.Println("stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return st.Close(shutdown)
}
