//! A compact, versioned binary encoding of a [`Report`] (R36), so shards can ship partial
//! results to any aggregator: little-endian integers, length-prefixed strings, and each
//! histogram in the HdrHistogram V2 format.
//!
//! Layout: the magic `SLAREP`, a format version (u16), then the report's raw fields in a fixed
//! order. Decoding checks every length and value, so a truncated, corrupt or newer encoding is
//! an [`ErrorKind::Encoding`](crate::ErrorKind::Encoding) error, never a panic.

use crate::{Error, Result};
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

const MAGIC: &[u8; 6] = b"SLAREP";
/// The format version this code writes and reads.
pub(crate) const VERSION: u16 = 1;

/// Appends fields to a buffer.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn new() -> Writer {
        let mut w = Writer(Vec::with_capacity(4096));
        w.0.extend_from_slice(MAGIC);
        w.u16(VERSION);
        w
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
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Result<Reader<'a>> {
        let mut r = Reader { b, i: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(Error::encoding("not a report encoding (bad magic)"));
        }
        let version = r.u16()?;
        if version != VERSION {
            return Err(Error::encoding(format!(
                "format version {version}, this build reads version {VERSION}"
            )));
        }
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
