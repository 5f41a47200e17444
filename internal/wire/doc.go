// Package wire is the encoding that par's jobs and results travel in when
// they leave the driver's process: over pipes to worker processes (package
// proc) and as NATS messages to cluster workers (package cluster). Both
// backends use the same envelopes and the same codec, so a worker behaves
// the same whichever way its batch arrived.
//
// # Codec
//
// Values are CBOR (RFC 8949), written by Marshal in core deterministic form
// (equal values give equal bytes) and read by Unmarshal. A time.Time
// travels as RFC 3339 text with nanoseconds; CBOR tags are not used at all,
// so a big.Int outside the 64-bit range cannot travel (send its bytes or
// its text instead).
//
// # Limits
//
// Every byte a worker or a driver reads may come from a broken or hostile
// peer, so decoding is bounded:
//
//   - a frame is at most MaxFrame bytes (64 MiB), or less if the Reader is
//     told so; a longer declared length fails with ErrFrameTooLarge before
//     anything is allocated for it;
//   - a Reader allocates for a long frame as its bytes arrive, so a peer that
//     declares a large frame and then stops costs what it sent;
//   - arrays and maps nest at most MaxNestedLevels (32) deep, and hold at
//     most MaxArrayElements and MaxMapPairs (2^20) entries;
//   - a byte or text string cannot be longer than the bytes that remain, and
//     no length is believed before the whole item has been checked, so a
//     header that promises more than the data holds fails without
//     allocating;
//   - indefinite lengths, tags, duplicate map keys and invalid UTF-8 are
//     errors.
//
// Marshal enforces the same limits on the sending side, so a value the far
// side would refuse fails where it was made, with an error wrapping
// ErrEncode. Decoding errors wrap ErrDecode.
//
// # Frames
//
// On a byte stream (a pipe) each message is a frame: a 4-byte big-endian
// length, then that many bytes of payload. Writer writes frames through a
// buffer (Flush sends them); Reader reads them into one reused buffer.
// io.EOF from a Reader means the stream ended cleanly between frames;
// io.ErrUnexpectedEOF means it ended inside one. NATS messages carry their
// own length, so the cluster backend uses Marshal and Unmarshal directly.
//
// # Envelopes
//
// A Batch carries jobs of one registered task from a driver to a worker:
// the jobs' inputs packed as one CBOR array, as par hands a batch to a
// backend (par.Batch.Input), and the job indexes. The worker answers with
// Results, packed the same way: one array of outputs, and beside it an
// Error for each job that failed, saying what kind of failure it was (the
// job's error, a panic with its stack, a timeout, a lost worker, an input
// that did not decode, an unknown task) and whether retrying may help.
// Both may mark items that are references to values stored elsewhere
// (Refs), which the cluster uses for values too large for a message.
//
// Envelopes are plain structs, encoded as CBOR maps with small integer keys
// so that fields can be added without breaking older peers; unknown keys
// are ignored. After decoding an envelope a receiver calls its Validate
// method, whose errors wrap ErrInvalid; it also counts the items of the
// packed array.
//
// # Costs
//
// Measured by BenchmarkEncodeBatch, BenchmarkDecodeBatch and
// BenchmarkResults on batches of 1000 float64 values, the values' own
// encoding included: a driver encodes a job's input and its share of the
// envelope in about 15 ns, a worker decodes and validates them in about
// 21 ns, and a job's result costs about 35 ns both ways (a shared 2-core
// machine). A batch of 1000 such jobs is about 8 KB. With one byte string
// and one Result map per job, as envelopes were before they were packed,
// the same took 85-140 ns and 130-220 ns.
package wire
