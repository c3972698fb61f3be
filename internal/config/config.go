// Package config reads StarArena's environment in one place and fails fast
// on values that cannot work.
package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Config is the runtime configuration of a function or the local stack.
type Config struct {
	Region string // AWS_REGION
	// TableName is the physical name of the main table (TABLE_NAME).
	TableName string
	// DynamoEndpoint is AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL:
	// a local or emulated DynamoDB. Empty in AWS.
	DynamoEndpoint string
	LogLevel       slog.Level    // LOG_LEVEL: debug, info, warn, error
	Freshness      time.Duration // AVAILABILITY_FRESHNESS: max age of the availability projection
}

// Getenv is os.Getenv's shape, so tests can pass a map.
type Getenv func(string) string

// FromEnv reads the configuration.
func FromEnv(getenv Getenv) (Config, error) {
	c := Config{
		Region:         first(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		TableName:      first(getenv("TABLE_NAME"), "stararena"),
		DynamoEndpoint: first(getenv("AWS_ENDPOINT_URL_DYNAMODB"), getenv("AWS_ENDPOINT_URL")),
		Freshness:      2 * time.Second,
	}
	if err := c.LogLevel.UnmarshalText([]byte(first(getenv("LOG_LEVEL"), "info"))); err != nil {
		return Config{}, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	if v := getenv("AVAILABILITY_FRESHNESS"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			return Config{}, fmt.Errorf("AVAILABILITY_FRESHNESS=%q: want a duration between 1ms and 1m", v)
		}
		c.Freshness = d
	}
	return c, nil
}

// Int reads an integer variable with a default and bounds.
func Int(getenv Getenv, name string, def, lo, hi int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want an integer between %d and %d", name, v, lo, hi)
	}
	return n, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
