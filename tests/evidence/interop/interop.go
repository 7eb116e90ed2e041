// An independent check of Amparo's evidence core, built on Go's golang.org/x/mod/sumdb
// packages (tlog for RFC 6962 trees and proofs, note for signed notes) as Debian ships them.
// It reads one JSON request on standard input and writes one JSON answer on standard output.
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Op          string     `json:"op"`
	Entries     [][]byte   `json:"entries"`
	Inclusion   [][2]int64 `json:"inclusion"`   // (index, size) pairs
	Consistency [][2]int64 `json:"consistency"` // (size1, size2) pairs
	Proofs      [][][]byte `json:"proofs"`
	Roots       [][]byte   `json:"roots"` // root of every size 0..len(entries)
	Text        string     `json:"text"`
	Name        string     `json:"name"`
	Note        string     `json:"note"`
	VKeys       []string   `json:"vkeys"`
	Receipt     string     `json:"receipt"`
	Entry       []byte     `json:"entry"`
}

type answer struct {
	Roots  [][]byte   `json:"roots,omitempty"`
	Proofs [][][]byte `json:"proofs,omitempty"`
	OK     []bool     `json:"ok,omitempty"`
	Errors []string   `json:"errors,omitempty"`
	SKey   string     `json:"skey,omitempty"`
	VKey   string     `json:"vkey,omitempty"`
	Note   string     `json:"note,omitempty"`
	Text   string     `json:"text,omitempty"`
	Error  string     `json:"error,omitempty"`
}

// memoryHashes stores every tlog hash of a tree built from entries.
func memoryHashes(entries [][]byte) tlog.HashReaderFunc {
	var stored []tlog.Hash
	for i, e := range entries {
		hashes, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil {
			panic(err)
		}
		stored = append(stored, hashes...)
	}
	return func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, errors.New("hash index out of range")
			}
			out[j] = stored[x]
		}
		return out, nil
	}
}

func toBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		b := h
		out[i] = b[:]
	}
	return out
}

func toHashes(bs [][]byte) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(bs))
	for i, b := range bs {
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("hash %d has %d bytes", i, len(b))
		}
		copy(out[i][:], b)
	}
	return out, nil
}

func toHash(b []byte) tlog.Hash {
	var h tlog.Hash
	copy(h[:], b)
	return h
}

func verifiers(vkeys []string) (note.Verifiers, error) {
	var list []note.Verifier
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return note.VerifierList(list...), nil
}

// checkReceipt parses a c2sp.org/tlog-proof@v1 receipt line by line and checks it with
// note.Open and tlog.CheckRecord.
func checkReceipt(receipt string, entry []byte, vkeys []string) error {
	head, checkpoint, found := strings.Cut(receipt, "\n\n")
	if !found {
		return errors.New("no blank line between proof and checkpoint")
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return fmt.Errorf("first line is %q", lines[0])
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return errors.New("no index line")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil {
		return err
	}
	var proof tlog.RecordProof
	for _, l := range lines[1:] {
		b, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(b) != tlog.HashSize {
			return fmt.Errorf("bad proof line %q", l)
		}
		proof = append(proof, toHash(b))
	}
	vs, err := verifiers(vkeys)
	if err != nil {
		return err
	}
	n, err := note.Open([]byte(checkpoint), vs)
	if err != nil {
		return err
	}
	parts := strings.Split(n.Text, "\n")
	if len(parts) < 4 {
		return errors.New("checkpoint too short")
	}
	size, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return err
	}
	root, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(root) != tlog.HashSize {
		return errors.New("bad checkpoint root")
	}
	return tlog.CheckRecord(proof, size, toHash(root), index, tlog.RecordHash(entry))
}

func run(req request) (answer, error) {
	var a answer
	switch req.Op {
	case "tree":
		r := memoryHashes(req.Entries)
		for n := int64(0); n <= int64(len(req.Entries)); n++ {
			h, err := tlog.TreeHash(n, r)
			if err != nil {
				return a, err
			}
			a.Roots = append(a.Roots, h[:])
		}
		for _, p := range req.Inclusion {
			proof, err := tlog.ProveRecord(p[1], p[0], r)
			if err != nil {
				return a, err
			}
			a.Proofs = append(a.Proofs, toBytes(proof))
		}
		for _, p := range req.Consistency {
			proof, err := tlog.ProveTree(p[1], p[0], r)
			if err != nil {
				return a, err
			}
			a.Proofs = append(a.Proofs, toBytes(proof))
		}
	case "check":
		// Our proofs, in the order: inclusion pairs, then consistency pairs.
		k := 0
		for _, p := range req.Inclusion {
			proof, err := toHashes(req.Proofs[k])
			k++
			if err == nil {
				err = tlog.CheckRecord(proof, p[1], toHash(req.Roots[p[1]]), p[0], tlog.RecordHash(req.Entries[p[0]]))
			}
			a.OK = append(a.OK, err == nil)
			a.Errors = append(a.Errors, fmt.Sprint(err))
		}
		for _, p := range req.Consistency {
			proof, err := toHashes(req.Proofs[k])
			k++
			if err == nil {
				err = tlog.CheckTree(proof, p[1], toHash(req.Roots[p[1]]), p[0], toHash(req.Roots[p[0]]))
			}
			a.OK = append(a.OK, err == nil)
			a.Errors = append(a.Errors, fmt.Sprint(err))
		}
	case "sign":
		skey, vkey, err := note.GenerateKey(rand.Reader, req.Name)
		if err != nil {
			return a, err
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			return a, err
		}
		msg, err := note.Sign(&note.Note{Text: req.Text}, s)
		if err != nil {
			return a, err
		}
		a.SKey, a.VKey, a.Note = skey, vkey, string(msg)
	case "open":
		vs, err := verifiers(req.VKeys)
		if err != nil {
			return a, err
		}
		n, err := note.Open([]byte(req.Note), vs)
		if err != nil {
			return a, err
		}
		a.Text = n.Text
	case "keys":
		// Go's key parsers accept or refuse each key; the answer lists which.
		for _, k := range req.VKeys {
			var err error
			if strings.HasPrefix(k, "PRIVATE+KEY+") {
				_, err = note.NewSigner(k)
			} else {
				_, err = note.NewVerifier(k)
			}
			a.OK = append(a.OK, err == nil)
		}
	case "receipt":
		if err := checkReceipt(req.Receipt, req.Entry, req.VKeys); err != nil {
			return a, err
		}
	default:
		return a, fmt.Errorf("unknown op %q", req.Op)
	}
	return a, nil
}

func main() {
	var req request
	if err := json.NewDecoder(bufio.NewReader(os.Stdin)).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	a, err := run(req)
	if err != nil {
		a = answer{Error: err.Error()}
	}
	if err := json.NewEncoder(os.Stdout).Encode(a); err != nil {
		os.Exit(2)
	}
}
