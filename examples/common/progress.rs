//! Progress on stderr for long runs over big files: lines read, rate and megabytes, about once
//! a second, on one rewritten line. Off when stderr is not a terminal, so logs and pipes stay
//! clean. (The engine never reads the clock; only this display does.)

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// Wraps a reader and reports how much has gone through it.
pub struct Progress<R> {
    inner: R,
    what: &'static str,
    on: bool,
    lines: u64,
    bytes: u64,
    start: Instant,
    last: Instant,
}

impl<R: Read> Progress<R> {
    /// Progress for `inner`, counting `what` (one per line); silent unless stderr is a terminal.
    pub fn new(inner: R, what: &'static str) -> Progress<R> {
        let now = Instant::now();
        Progress {
            inner,
            what,
            on: std::io::stderr().is_terminal(),
            lines: 0,
            bytes: 0,
            start: now,
            last: now,
        }
    }

    fn show(&mut self, done: bool) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} {}, {:.0} MB, {:.2} M {}/s{}",
            self.lines,
            self.what,
            self.bytes as f64 / 1e6,
            self.lines as f64 / secs / 1e6,
            self.what,
            if done { "\n" } else { "   " }
        );
        let _ = err.flush();
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.on {
            self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            self.bytes += n as u64;
            if n == 0 {
                if self.lines > 0 {
                    self.show(true);
                }
                self.on = false;
            } else if self.last.elapsed() >= Duration::from_secs(1) {
                self.last = Instant::now();
                self.show(false);
            }
        }
        Ok(n)
    }
}
