//! Compact, versioned binary encodings: of a [`Report`](crate::Report) (R36), so shards can
//! ship partial results to any aggregator, and of a whole engine's state (checkpoint and
//! resume). Little-endian integers, length-prefixed strings, and each histogram in the
//! HdrHistogram V2 format.
//!
//! Layout: a six-byte magic naming the format, a format version (u16), then the fields in a
//! fixed order. Decoding checks every length and value, so a truncated, corrupt or newer
//! encoding is an [`ErrorKind::Encoding`](crate::ErrorKind::Encoding) error, never a panic.

use crate::{Error, Result, Timestamp};
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

/// One binary format: its magic, the version this code writes and reads, and its name for
/// error messages.
pub(crate) struct Format {
    magic: &'static [u8; 6],
    version: u16,
    /// The oldest version this code still reads. Readers branch on
    /// [`Reader::version`] where a version changed a field's width.
    oldest: u16,
    name: &'static str,
}

/// [`Report::to_bytes`](crate::Report::to_bytes).
pub(crate) const REPORT: Format = Format {
    magic: b"SLAREP",
    // 3: a distribution of up to 16 samples may be stored as their bucket values.
    version: 3,
    oldest: 2,
    name: "report encoding",
};

/// [`Engine::checkpoint`](crate::Engine::checkpoint).
pub(crate) const CHECKPOINT: Format = Format {
    magic: b"SLACKP",
    // 2: distributions as in report version 3.
    // 3: status time in 64-bit seconds (32-bit saturated at 136 years).
    version: 3,
    oldest: 1,
    name: "engine checkpoint",
};

/// A 64-bit checksum of `bytes`, for catching corruption (not tampering): eight bytes at a
/// time, each word mixed in with a multiply and a rotate, then the length.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = 0x243f_6a88_85a3_08d3u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(a)).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K).rotate_left(29);
    // splitmix64's finalizer, so every input bit reaches every output bit.
    let mut z = h ^ bytes.len() as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Appends fields to a buffer.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn new(format: &Format) -> Writer {
        let mut w = Writer(Vec::with_capacity(4096));
        w.0.extend_from_slice(format.magic);
        w.u16(format.version);
        w
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn ts(&mut self, t: Timestamp) {
        self.i64(t.as_unix());
    }

    /// `None` as a 0 byte, `Some(t)` as a 1 byte and `t`.
    pub(crate) fn opt_ts(&mut self, t: Option<Timestamp>) {
        self.bool(t.is_some());
        if let Some(t) = t {
            self.ts(t);
        }
    }

    /// Length-prefixed raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// Appends the checksum of everything written so far and returns the bytes.
    pub(crate) fn seal(mut self) -> Vec<u8> {
        let sum = checksum(&self.0);
        self.u64(sum);
        self.0
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn histogram(&mut self, h: &Histogram<u64>) {
        let mut bytes = Vec::new();
        // Writing to a Vec cannot fail, and our histograms' sizes fit the format.
        let _ = V2Serializer::new().serialize(h, &mut bytes);
        self.u64(bytes.len() as u64);
        self.0.extend_from_slice(&bytes);
    }
}

/// Reads fields back, checking every length.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// The format version the bytes were written in.
    version: u16,
}

impl<'a> Reader<'a> {
    /// A reader of bare fields, without magic or version (for tests of one field's encoding).
    #[cfg(test)]
    pub(crate) fn unchecked(b: &'a [u8]) -> Reader<'a> {
        Reader { b, i: 0, version: 0 }
    }

    pub(crate) fn new(b: &'a [u8], format: &Format) -> Result<Reader<'a>> {
        let mut r = Reader { b, i: 0, version: 0 };
        if r.take(format.magic.len()).ok() != Some(format.magic.as_slice()) {
            return Err(Error::encoding(format!("not a {} (bad magic)", format.name)));
        }
        let version = r.u16()?;
        if !(format.oldest..=format.version).contains(&version) {
            return Err(Error::encoding(format!(
                "{} version {version}, this build reads versions {} to {}",
                format.name, format.oldest, format.version
            )));
        }
        r.version = version;
        Ok(r)
    }

    /// The format version the bytes were written in, for fields a version changed.
    pub(crate) fn version(&self) -> u16 {
        self.version
    }

    /// Like [`Reader::new`] for bytes written with [`Writer::seal`]: checks the trailing
    /// checksum first, so any corruption is reported as such.
    pub(crate) fn sealed(b: &'a [u8], format: &Format) -> Result<Reader<'a>> {
        let mut r = Reader::new(b, format)?;
        let body = b
            .len()
            .checked_sub(8)
            .filter(|&n| n >= r.i)
            .ok_or_else(|| Error::encoding(format!("{} truncated at byte {}", format.name, b.len())))?;
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&b[body..]);
        if checksum(&b[..body]) != u64::from_le_bytes(sum) {
            return Err(Error::encoding(format!(
                "{} is corrupt (checksum mismatch over {body} bytes)",
                format.name
            )));
        }
        r.b = &b[..body];
        Ok(r)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.i.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(end) => {
                let s = &self.b[self.i..end];
                self.i = end;
                Ok(s)
            }
            None => Err(Error::encoding(format!("truncated at byte {}", self.i))),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(Error::encoding(format!(
                "byte {b} at {} is not a flag",
                self.i - 1
            ))),
        }
    }

    pub(crate) fn ts(&mut self) -> Result<Timestamp> {
        Ok(Timestamp::from_unix(self.i64()?))
    }

    pub(crate) fn opt_ts(&mut self) -> Result<Option<Timestamp>> {
        Ok(if self.bool()? { Some(self.ts()?) } else { None })
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.array()?))
    }

    /// A length no larger than what is left (so a corrupt length cannot allocate wildly).
    pub(crate) fn len(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.b.len() - self.i) as u64 {
            return Err(Error::encoding(format!(
                "length {n} beyond the end at byte {}",
                self.i
            )));
        }
        Ok(n as usize)
    }

    pub(crate) fn str(&mut self) -> Result<String> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::encoding("a string is not UTF-8"))
    }

    pub(crate) fn histogram(&mut self) -> Result<Histogram<u64>> {
        let n = self.len()?;
        let mut bytes = self.take(n)?;
        Deserializer::new()
            .deserialize(&mut bytes)
            .map_err(|e| Error::encoding(format!("histogram: {e:?}")))
    }

    pub(crate) fn finish(&self) -> Result<()> {
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(Error::encoding(format!(
                "{} trailing bytes",
                self.b.len() - self.i
            )))
        }
    }
}
