// Command moto-template prepares a synthesized cloud assembly for the
// deploy rehearsal on moto (scripts/moto-deploy.sh): in each stack
// template it names, references to resources moto's CloudFormation does
// not create become placeholders of the right shape
// (rehearsal.WithPlaceholders), in place.
//
//	go run ./scripts/moto-template -account 123456789012 -region us-east-1 cdk.out/StarArena.template.json
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/stararena/stararena/infra/rehearsal"
)

func main() {
	account := flag.String("account", "123456789012", "the account the stack deploys to")
	region := flag.String("region", "us-east-1", "the Region the stack deploys to")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: moto-template [-account A] [-region R] TEMPLATE.json...")
		os.Exit(2)
	}
	for _, path := range flag.Args() {
		if err := prepare(path, *account, *region); err != nil {
			fmt.Fprintf(os.Stderr, "moto-template: %v\n", err)
			os.Exit(1)
		}
	}
}

func prepare(path, account, region string) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, ids, err := rehearsal.WithPlaceholders(in, account, region)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: references to %d resources moto does not create replaced by placeholders: %s\n", path, len(ids), strings.Join(ids, ", "))
	return nil
}
