package mlflowclient

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestGenerateRunName(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9]+$`)
	seen := map[string]bool{}
	for range 2000 {
		name := GenerateRunName()
		if len(name) > 20 {
			t.Fatalf("%q is longer than 20 characters", name)
		}
		if !shape.MatchString(name) {
			t.Fatalf("%q is not adjective-noun-N", name)
		}
		n, _ := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
		if n < 0 || n > 1000 {
			t.Fatalf("%q: number out of 0..1000", name)
		}
		seen[name] = true
	}
	if len(seen) < 1900 {
		t.Errorf("only %d distinct names in 2000", len(seen))
	}
}

func TestRunNameWordLists(t *testing.T) {
	for _, list := range [][]string{runNameAdjectives, runNameAnimals} {
		dup := map[string]bool{}
		for _, w := range list {
			if !regexp.MustCompile(`^[a-z]+$`).MatchString(w) || dup[w] {
				t.Errorf("word %q is not lower-case ASCII or repeats", w)
			}
			dup[w] = true
		}
		if len(list) < 100 {
			t.Errorf("word list has %d words; want at least 100 for variety", len(list))
		}
	}
}
