package lambdarie

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sort"
)

// Env is function fn's whole environment under the emulator: what Lambda
// sets (its name and region), dummy credentials (local servers ignore
// signatures), no instance-metadata lookups, and vars (the function's
// configuration), which win.
func Env(fn string, vars map[string]string) []string {
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":  fn,
		"AWS_REGION":                "us-east-1",
		"AWS_ACCESS_KEY_ID":         "local",
		"AWS_SECRET_ACCESS_KEY":     "local",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	for k, v := range vars {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Keyring is a one-key signing keyring document (ADMISSION_KEYS,
// TICKET_KEYS) with a random seed. In Lambda the functions refuse to
// generate their own keys, since each must verify what another signed, so
// every function of one run shares the documents.
func Keyring(kid string) (string, error) {
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return "", fmt.Errorf("keyring seed: %w", err)
	}
	return fmt.Sprintf(`{"current":%q,"keys":[{"kid":%q,"seed":%q}]}`, kid, kid, base64.StdEncoding.EncodeToString(seed)), nil
}
