// Package channel is the local channel between a running mltrack (the parent, which owns a run) and
// the processes started inside its command: `mltrack log ...` and nested mltrack processes. It lets
// them log into the parent's run without knowing where the run is stored, while the store is down
// (the parent journals), and many at once without racing (the parent serialises).
//
// # Transport
//
// A Unix domain socket (AF_UNIX; Linux, macOS, and Windows 10 1803 and later) in a private
// directory of the parent. The parent exports its path to the command in MLTRACK_CHANNEL (EnvVar).
// When the path would not fit in a socket address (sun_path is 104 bytes on macOS, 108 on Linux
// and Windows), the socket goes to a new private directory under os.TempDir() with a random name.
//
// # Protocol (version 1)
//
// Newline-delimited JSON over a stream connection. The client writes one request line, the server
// answers with one reply line; a connection may carry further requests in turn (the Client in this
// package uses one connection per call, so a slow call never holds up another). Every request
// carries the protocol version "v" and an "op":
//
//	{"v":1,"op":"hello"}
//	{"v":1,"op":"log_metrics","metrics":[{"key":"loss","value":0.5,"timestamp":1700000000000,"step":3}]}
//	{"v":1,"op":"log_params","params":[{"key":"lr","value":"0.1"}]}
//	{"v":1,"op":"set_tags","tags":[{"key":"stage","value":"eval"}]}
//	{"v":1,"op":"log_artifact","local_path":"/abs/plot.png","artifact_path":"plots/plot.png"}
//	{"v":1,"op":"child_started","run_key":"9f..."}
//	{"v":1,"op":"child_ended","run_key":"9f...","status":"FAILED"}
//
// Replies: {"v":1,"ok":true}, {"v":1,"ok":false,"error":"..."}, and for hello
// {"v":1,"ok":true,"hello":{"run_id":...,"experiment_id":...,"tracking_uri":...,"run_key":...}}.
// Metric values that JSON cannot spell are sent as the strings "NaN", "Infinity" and "-Infinity".
// A metric without "step" is numbered by the parent (see Metric); one without "timestamp" gets the
// time the parent received it. Unknown fields are ignored; a request with another version is
// refused with an error that says so.
//
// # Limits
//
// A request line is at most MaxRequestBytes (1 MiB); a larger one is refused and its connection
// closed. At most MaxConns (64) connections are served at once; further ones wait in the socket's
// listen queue until a slot frees, bounded by their own call timeout. A connection idle for
// IdleTimeout is closed.
//
// # Security
//
// The socket lives in a directory only its owner can enter (Listen checks the mode and owner on
// Unix), and the socket itself is 0600. On Linux the server also checks each peer's uid with
// SO_PEERCRED, and on macOS and FreeBSD with LOCAL_PEERCRED, and refuses other users (root
// included). On Windows there is no peer credential check: the protection is the directory's ACL
// (the default ACL of a directory in the user's profile, such as %TEMP%, admits only the user,
// SYSTEM and administrators).
package channel
