use std::fmt;

use serde::Serialize;

/// A content hash (BLAKE3) that identifies a stage's configuration, and later its inputs,
/// for caching and provenance.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Hash of a kind and its checked parameters in canonical JSON form.
    pub fn of(kind: &str, params: &impl Serialize) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(kind.as_bytes());
        h.update(&[0]);
        // Serialising plain data structs to JSON cannot fail.
        let json = serde_json::to_vec(params).unwrap_or_default();
        h.update(&json);
        Fingerprint(*h.finalize().as_bytes())
    }

    /// Combine with the fingerprints of upstream artifacts (cache key of an output).
    pub fn chain(&self, inputs: &[Fingerprint]) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(&self.0);
        for f in inputs {
            h.update(&f.0);
        }
        Fingerprint(*h.finalize().as_bytes())
    }

    pub fn short(&self) -> String {
        self.to_string()[..12].to_string()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.short())
    }
}
