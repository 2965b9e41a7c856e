// Package e2e holds credd's end-to-end tests; it has no code of its own.
package e2e
