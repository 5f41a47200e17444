package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame is the largest frame payload, in bytes, that a Writer sends and
// a Reader accepts.
const MaxFrame = 64 << 20

// ErrFrameTooLarge reports a frame longer than the limit. From a Reader it
// means the peer declared a frame longer than the Reader's limit; the stream
// is then out of step and the Reader returns the same error from then on.
// From a Writer it means the payload is longer than MaxFrame; nothing was
// written and the Writer stays usable.
var ErrFrameTooLarge = errors.New("wire: frame too large")

const (
	headerLen = 4
	// bufSize is the bufio buffer of Readers and Writers: many small frames
	// share one system call.
	bufSize = 64 << 10
	// growStep is where a Reader starts when a frame is larger than its
	// buffer; see Reader.readPayload.
	growStep = 64 << 10
	// keepBuf is the buffer size a Reader keeps across a run of small
	// frames; a larger one, left by one big frame, is dropped.
	keepBuf = 4 << 20
)

// Writer writes length-prefixed frames: a 4-byte big-endian payload length,
// then the payload. Writes are buffered: call Flush when the peer must see
// them. A Writer must not be used by more than one goroutine at a time. Make
// one with NewWriter; the zero value is not usable.
type Writer struct {
	w   *bufio.Writer
	hdr [headerLen]byte
}

// NewWriter returns a Writer that writes frames to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, bufSize)}
}

// WriteFrame writes p as one frame. A payload longer than MaxFrame is
// refused with an error wrapping ErrFrameTooLarge. After any other error
// (from the underlying writer), every later write returns it too.
func (w *Writer) WriteFrame(p []byte) error { return w.WriteFrameParts(p, nil) }

// WriteFrameParts writes head followed by tail as one frame, as
// WriteFrame(append(head, tail...)) would, without copying them together:
// an envelope and the large payload after it go out as they are.
func (w *Writer) WriteFrameParts(head, tail []byte) error {
	n := len(head) + len(tail)
	if n > MaxFrame {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, MaxFrame)
	}
	binary.BigEndian.PutUint32(w.hdr[:], uint32(n))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return err
	}
	if _, err := w.w.Write(head); err != nil {
		return err
	}
	_, err := w.w.Write(tail)
	return err
}

// Encode writes the Marshal encoding of v as one frame.
func (w *Writer) Encode(v any) error {
	p, err := Marshal(v)
	if err != nil {
		return err
	}
	return w.WriteFrame(p)
}

// Flush writes any buffered frames to the underlying writer.
func (w *Writer) Flush() error {
	return w.w.Flush()
}

// Reader reads frames written by a Writer. A Reader must not be used by more
// than one goroutine at a time. Make one with NewReader; the zero value is
// not usable.
//
// A Reader reuses one buffer for every frame. It never allocates more than a
// frame's declared length, and only after checking that length against its
// limit; for a frame larger than its current buffer it grows the buffer as
// the bytes arrive, so a peer that declares a large frame and then stops
// costs memory in proportion to what it sent, not to what it declared.
type Reader struct {
	r   *bufio.Reader
	max int
	hdr [headerLen]byte
	buf []byte
	err error // sticky: once the stream is broken, it stays broken
}

// NewReader returns a Reader that reads frames from r and refuses any longer
// than max bytes. A max of zero or less, or above MaxFrame, means MaxFrame.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 || max > MaxFrame {
		max = MaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// ReadFrame reads the next frame and returns its payload. The payload is
// valid only until the next call to ReadFrame or Decode: copy it to keep it.
//
// ReadFrame returns io.EOF when the stream ends cleanly between frames,
// io.ErrUnexpectedEOF when it ends inside one, and ErrFrameTooLarge when the
// declared length exceeds the limit, without reading or allocating for the
// payload. After any error the stream is out of step, and every later call
// returns the same error.
func (r *Reader) ReadFrame() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		r.err = err // io.EOF if no byte came, io.ErrUnexpectedEOF if some did
		return nil, err
	}
	n := binary.BigEndian.Uint32(r.hdr[:])
	if uint64(n) > uint64(r.max) {
		r.err = ErrFrameTooLarge
		return nil, r.err
	}
	if err := r.readPayload(int(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = err
		return nil, err
	}
	return r.buf, nil
}

// ReadFrameInto is ReadFrame reading into buf's memory, grown as needed,
// instead of the Reader's own buffer: the payload it returns is the
// caller's, and the Reader keeps no reference to it. A caller that holds
// a frame while the next is read passes a buffer it is done with (or nil).
func (r *Reader) ReadFrameInto(buf []byte) ([]byte, error) {
	own := r.buf
	r.buf = buf[:0]
	p, err := r.ReadFrame()
	r.buf = own
	return p, err
}

// readPayload reads n bytes into r.buf, n being already checked against the
// limit.
func (r *Reader) readPayload(n int) error {
	if n <= growStep && cap(r.buf) > keepBuf {
		r.buf = nil
	}
	if n <= cap(r.buf) || n <= growStep {
		if n > cap(r.buf) {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		_, err := io.ReadFull(r.r, r.buf)
		return err
	}
	// Grow as the bytes arrive, doubling, capped at n: at most twice the
	// bytes actually received are allocated, and never more than n.
	buf := r.buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			next := make([]byte, len(buf), min(max(2*cap(buf), growStep), n))
			copy(next, buf)
			buf = next
		}
		m, err := io.ReadFull(r.r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			r.buf = buf[:0]
			return err
		}
	}
	r.buf = buf
	return nil
}

// Decode reads the next frame and decodes it into v with Unmarshal. Frame
// errors are those of ReadFrame. A frame that does not decode gives an error
// wrapping ErrDecode; the stream stays in step, and the next call reads the
// next frame.
func (r *Reader) Decode(v any) error {
	p, err := r.ReadFrame()
	if err != nil {
		return err
	}
	return Unmarshal(p, v)
}
