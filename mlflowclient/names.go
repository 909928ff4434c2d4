package mlflowclient

import (
	"math/rand/v2"
	"strconv"
)

// GenerateRunName returns a run name in the style MLflow gives unnamed runs: "adjective-animal-N"
// with N in 0..1000, at most 20 characters (mlflow/utils/name_utils.py::_generate_random_name tries
// ten times to fit and then truncates). Nothing in MLflow parses these names, so the words are our
// own; only the shape matches.
func GenerateRunName() string {
	const maxLen = 20
	var name string
	for range 10 {
		name = runNameAdjectives[rand.IntN(len(runNameAdjectives))] + "-" +
			runNameAnimals[rand.IntN(len(runNameAnimals))] + "-" +
			strconv.Itoa(rand.IntN(1001))
		if len(name) <= maxLen {
			return name
		}
	}
	return name[:maxLen] // the words are ASCII, so this never cuts a character in two
}

// runNameAdjectives are short, friendly, lower-case ASCII predicates.
var runNameAdjectives = []string{
	"agile", "airy", "amber", "ample", "aqua", "ardent", "azure", "balmy", "bold", "bonny",
	"brave", "breezy", "bright", "brisk", "bubbly", "busy", "calm", "candid", "cheery", "chipper",
	"civil", "clean", "clever", "cool", "cosmic", "cozy", "crisp", "curious", "dapper", "daring",
	"dashing", "deft", "dizzy", "dreamy", "eager", "earnest", "easy", "elated", "epic", "fancy",
	"fearless", "fervent", "festive", "fleet", "fluffy", "fond", "frank", "fresh", "frosty", "gentle",
	"giddy", "glad", "gleaming", "golden", "grand", "happy", "hardy", "hearty", "humble", "jaunty",
	"jolly", "jovial", "keen", "kind", "lively", "loyal", "lucid", "lucky", "mellow", "merry",
	"mighty", "mild", "misty", "modest", "nimble", "noble", "plucky", "polite", "proud", "quick",
	"quiet", "radiant", "rapid", "rosy", "rustic", "sage", "serene", "shiny", "silent", "sleek",
	"smart", "snappy", "sober", "spry", "steady", "sturdy", "sunny", "swift", "tidy", "upbeat",
	"valiant", "vivid", "warm", "wise", "witty", "zany", "zealous", "zesty",
}

// runNameAnimals are short lower-case ASCII animal names.
var runNameAnimals = []string{
	"ant", "ape", "asp", "auk", "bat", "bear", "bee", "bison", "boar", "bug",
	"calf", "camel", "carp", "cat", "chick", "clam", "cod", "colt", "conch", "crab",
	"crane", "crow", "cub", "deer", "dingo", "dodo", "doe", "dog", "dove", "duck",
	"eagle", "eel", "egret", "elk", "emu", "ewe", "falcon", "fawn", "finch", "fish",
	"foal", "fox", "frog", "gecko", "gnat", "gnu", "goat", "goose", "grouse", "gull",
	"hare", "hawk", "hen", "heron", "hog", "ibis", "jay", "kite", "kiwi", "koala",
	"lamb", "lark", "lemur", "lion", "llama", "loon", "lynx", "mole", "moose", "moth",
	"mouse", "mule", "newt", "okapi", "orca", "otter", "owl", "ox", "panda", "pig",
	"pony", "puffin", "pug", "quail", "ram", "raven", "robin", "seal", "shark", "sheep",
	"shrew", "skunk", "sloth", "snail", "snake", "squid", "stork", "swan", "tapir", "tern",
	"tiger", "toad", "trout", "tuna", "vole", "wasp", "whale", "wolf", "wren", "yak",
	"zebra",
}
