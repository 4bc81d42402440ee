//! Minimal NumPy `.npy` (format 1.0–3.0) reader and writer for the dtypes we exchange with
//! Python users and with the reference outputs: little-endian f8, f4, i8, i4, u1, b1.
//! C order only (Fortran-ordered arrays are transposed on read).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use ndarray::{ArrayD, IxDyn};

#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a .npy file: {what}")]
    Format { path: String, what: String },
}

/// Read any supported `.npy` array as f64 (integers and booleans are converted).
pub fn read_f64(path: impl AsRef<Path>) -> Result<ArrayD<f64>, NpyError> {
    let path = path.as_ref();
    let p = path.display().to_string();
    let bytes = fs::read(path).map_err(|source| NpyError::Io {
        path: p.clone(),
        source,
    })?;
    parse_f64(&bytes).map_err(|what| NpyError::Format { path: p, what })
}

fn parse_f64(bytes: &[u8]) -> Result<ArrayD<f64>, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("missing \\x93NUMPY magic".into());
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("unsupported format version {v}")),
    };
    let header = bytes
        .get(start..start + hlen)
        .ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let descr = dict_value(header, "descr").ok_or("no descr")?;
    // The value runs to the next comma: `'<f8', 'fortran_order': ...`.
    let descr = descr.split(',').next().unwrap_or("").trim();
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran = dict_value(header, "fortran_order")
        .map(|v| v.starts_with("True"))
        .unwrap_or(false);
    let shape_txt = dict_value(header, "shape").ok_or("no shape")?;
    let inner = shape_txt
        .trim()
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("");
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape_txt}")))
        .collect::<Result<_, _>>()?;
    let n: usize = shape.iter().product();
    let body = &bytes[start + hlen..];
    let (size, conv): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap())),
        "<f4" => (4, |b| f32::from_le_bytes(b.try_into().unwrap()) as f64),
        "<i8" => (8, |b| i64::from_le_bytes(b.try_into().unwrap()) as f64),
        "<i4" => (4, |b| i32::from_le_bytes(b.try_into().unwrap()) as f64),
        "|u1" | "|b1" => (1, |b| b[0] as f64),
        d => return Err(format!("unsupported dtype {d}")),
    };
    if body.len() < n * size {
        return Err(format!(
            "data too short: {} bytes for {n} values of {size} bytes",
            body.len()
        ));
    }
    let values: Vec<f64> = body[..n * size].chunks_exact(size).map(conv).collect();
    if fortran && shape.len() > 1 {
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let a = ArrayD::from_shape_vec(IxDyn(&rev), values).map_err(|e| e.to_string())?;
        Ok(a.reversed_axes().as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| e.to_string())
    }
}

fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let i = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[i + key.len() + 2..];
    let colon = rest.find(':')?;
    Some(rest[colon + 1..].trim_start())
}

/// Write an f64 array as `.npy` (format 1.0, little-endian, C order) to `w`.
pub fn write_f64<W: Write>(w: &mut W, a: &ArrayD<f64>) -> io::Result<()> {
    let shape = match a.ndim() {
        1 => format!("({},)", a.shape()[0]),
        _ => format!(
            "({})",
            a.shape()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that magic + len + header + '\n' is a multiple of 64 (numpy's alignment).
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&(header.len() as u16).to_le_bytes())?;
    w.write_all(header.as_bytes())?;
    for v in a.as_standard_layout().iter() {
        w.write_all(&v.to_le_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_parse_round_trips() {
        let a = ndarray::Array2::from_shape_fn((3, 5), |(i, j)| i as f64 * 10.0 + j as f64 / 3.0)
            .into_dyn();
        let mut buf = Vec::new();
        write_f64(&mut buf, &a).unwrap();
        assert_eq!(buf.len() % 64, (3 * 5 * 8) % 64);
        let b = parse_f64(&buf).unwrap();
        assert_eq!(a, b);
    }
}
