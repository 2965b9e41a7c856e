package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/airtrain-ai/credd/client"
)

// These examples need a running, unlocked credd, so they are compiled but
// not run by go test.

func ExampleClient_Value() {
	c := client.New(client.Options{Agent: "report-writer"})
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key, err := c.Value(ctx, "openai", "api_key")
	if err != nil {
		log.Fatal(err)
	}
	defer key.Wipe()

	// Reveal hands out the bytes; keep them out of logs and strings.
	req, err := http.NewRequestWithContext(ctx, "GET", "https://api.openai.com/v1/models", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+string(key.Reveal()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

func ExampleClient_Get() {
	c := client.New(client.Options{})
	defer c.Close()

	cred, err := c.Get(context.Background(), "db")
	if err != nil {
		log.Fatal(err)
	}
	defer cred.Wipe()

	// Run psql with the credential's variables, never its command line.
	cmd := exec.Command("psql")
	cmd.Env = append(os.Environ(), cred.Environ()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
}

// Errors from the agent match the package's sentinels with errors.Is.
func Example_errors() {
	c := client.New(client.Options{})
	defer c.Close()

	v, err := c.Value(context.Background(), "openai", "")
	switch {
	case errors.Is(err, client.ErrLocked):
		fmt.Fprintln(os.Stderr, "the agent is locked: run credctl unlock")
	case errors.Is(err, client.ErrNotFound):
		fmt.Fprintln(os.Stderr, "no such credential: store it with credctl set openai --type openai")
	case errors.Is(err, client.ErrNoAgent):
		var na *client.NoAgentError
		if errors.As(err, &na) {
			fmt.Fprintf(os.Stderr, "no agent at %s: start credd\n", na.Socket)
		}
	case err != nil:
		log.Fatal(err)
	default:
		defer v.Wipe()
		fmt.Println("got a value of", v.Len(), "bytes")
	}
}
