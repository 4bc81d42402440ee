//! A minimal reader for the subset of ONNX (protobuf wire format) that ICLabelNet uses:
//! `ModelProto` → `GraphProto` → `NodeProto`/`AttributeProto`/`TensorProto` initializers.
//! We read the file ourselves instead of depending on an ONNX runtime: the network is tiny and
//! fixed, and a heavy runtime dependency would dominate the build.

use std::collections::HashMap;

/// What went wrong while decoding the model bytes; `offset` is the byte offset in the file.
#[derive(Debug, thiserror::Error)]
#[error("byte offset {offset}: {what}")]
pub struct OnnxError {
    pub offset: usize,
    pub what: String,
}

fn err<T>(offset: usize, what: impl Into<String>) -> Result<T, OnnxError> {
    Err(OnnxError {
        offset,
        what: what.into(),
    })
}

/// Element data of a tensor; ICLabelNet stores float weights and int64 shape constants.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorProto {
    pub name: String,
    pub dims: Vec<usize>,
    pub data: TensorData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Float(f32),
    Int(i64),
    Bytes(Vec<u8>),
    Tensor(TensorProto),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeProto {
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: HashMap<String, AttributeValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GraphProto {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelProto {
    pub ir_version: i64,
    pub producer_name: String,
    /// (domain, version) pairs; the default domain is "".
    pub opset_imports: Vec<(String, i64)>,
    pub graph: GraphProto,
}

/// One protobuf field value as it appears on the wire.
enum Wire<'a> {
    Varint(u64),
    /// Skipped: no field we read is fixed64.
    Fixed64,
    Fixed32([u8; 4]),
    /// Length-delimited payload and its absolute offset in the file.
    Bytes(&'a [u8], usize),
}

/// Iterates over the fields of one message, tracking absolute offsets for error messages.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Fields { buf, pos: 0, base }
    }

    fn varint(&mut self) -> Result<u64, OnnxError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return err(self.base + self.pos, "truncated varint (file cut short?)");
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        err(self.base + self.pos, "varint longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> Result<(&'a [u8], usize), OnnxError> {
        let start = self.pos;
        match start.checked_add(n).filter(|&end| end <= self.buf.len()) {
            Some(end) => {
                self.pos = end;
                Ok((&self.buf[start..end], self.base + start))
            }
            None => err(
                self.base + start,
                format!(
                    "field of {n} bytes runs past the end of its message ({} bytes left; file truncated?)",
                    self.buf.len() - start
                ),
            ),
        }
    }

    fn next_field(&mut self) -> Result<Option<(u64, Wire<'a>, usize)>, OnnxError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let at = self.base + self.pos;
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return err(at, "protobuf field number 0 (not an ONNX file?)");
        }
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Fixed64
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| OnnxError {
                    offset: at,
                    what: "length does not fit in memory".into(),
                })?;
                let (b, off) = self.take(len)?;
                Wire::Bytes(b, off)
            }
            5 => {
                let (b, _) = self.take(4)?;
                Wire::Fixed32(b.try_into().map_err(|_| OnnxError {
                    offset: at,
                    what: "short fixed32".into(),
                })?)
            }
            w => {
                return err(
                    at,
                    format!("unsupported protobuf wire type {w} (not an ONNX file?)"),
                );
            }
        };
        Ok(Some((field, wire, at)))
    }
}

fn string(wire: &Wire, at: usize, what: &str) -> Result<String, OnnxError> {
    match wire {
        Wire::Bytes(b, off) => {
            String::from_utf8(b.to_vec()).or_else(|_| err(*off, format!("{what} is not UTF-8")))
        }
        _ => err(at, format!("{what}: expected a length-delimited string")),
    }
}

fn int(wire: &Wire, at: usize, what: &str) -> Result<i64, OnnxError> {
    match wire {
        Wire::Varint(v) => Ok(*v as i64),
        _ => err(at, format!("{what}: expected a varint")),
    }
}

/// Repeated int64: either one varint per occurrence or a packed run.
fn push_ints(out: &mut Vec<i64>, wire: &Wire, at: usize, what: &str) -> Result<(), OnnxError> {
    match wire {
        Wire::Varint(v) => out.push(*v as i64),
        Wire::Bytes(b, off) => {
            let mut r = Fields::new(b, *off);
            while r.pos < b.len() {
                out.push(r.varint()? as i64);
            }
        }
        _ => return err(at, format!("{what}: expected int64 values")),
    }
    Ok(())
}

/// Repeated float: either fixed32 occurrences or a packed run.
fn push_floats(out: &mut Vec<f32>, wire: &Wire, at: usize, what: &str) -> Result<(), OnnxError> {
    match wire {
        Wire::Fixed32(b) => out.push(f32::from_le_bytes(*b)),
        Wire::Bytes(b, off) => {
            if b.len() % 4 != 0 {
                return err(
                    *off,
                    format!(
                        "{what}: packed floats of {} bytes, not a multiple of 4",
                        b.len()
                    ),
                );
            }
            out.extend(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        _ => return err(at, format!("{what}: expected float values")),
    }
    Ok(())
}

const ONNX_FLOAT: i64 = 1;
const ONNX_INT64: i64 = 7;

fn parse_tensor(buf: &[u8], base: usize) -> Result<TensorProto, OnnxError> {
    let mut f = Fields::new(buf, base);
    let mut dims = Vec::new();
    let mut data_type = None;
    let mut name = String::new();
    let mut floats = Vec::new();
    let mut ints = Vec::new();
    let mut raw: Option<(&[u8], usize)> = None;
    while let Some((field, wire, at)) = f.next_field()? {
        match field {
            1 => push_ints(&mut dims, &wire, at, "TensorProto.dims")?,
            2 => data_type = Some(int(&wire, at, "TensorProto.data_type")?),
            4 => push_floats(&mut floats, &wire, at, "TensorProto.float_data")?,
            7 => push_ints(&mut ints, &wire, at, "TensorProto.int64_data")?,
            8 => name = string(&wire, at, "TensorProto.name")?,
            9 => match wire {
                Wire::Bytes(b, off) => raw = Some((b, off)),
                _ => return err(at, "TensorProto.raw_data: expected bytes"),
            },
            13 | 14 => {
                return err(
                    at,
                    "tensor uses external data, which is not supported; use a self-contained ICLabelNet.onnx",
                );
            }
            _ => {}
        }
    }
    let dims: Vec<usize> = dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .or_else(|_| err(base, format!("tensor {name:?}: negative dimension {d}")))
        })
        .collect::<Result<_, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(OnnxError {
            offset: base,
            what: format!("tensor {name:?}: dimensions {dims:?} overflow"),
        })?;
    let data = match data_type {
        Some(ONNX_FLOAT) => {
            if let Some((b, off)) = raw {
                if b.len() != count * 4 {
                    return err(
                        off,
                        format!(
                            "tensor {name:?}: raw_data holds {} bytes, dims {dims:?} need {}",
                            b.len(),
                            count * 4
                        ),
                    );
                }
                TensorData::F32(
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                )
            } else {
                TensorData::F32(floats)
            }
        }
        Some(ONNX_INT64) => {
            if let Some((b, off)) = raw {
                if b.len() != count * 8 {
                    return err(
                        off,
                        format!(
                            "tensor {name:?}: raw_data holds {} bytes, dims {dims:?} need {}",
                            b.len(),
                            count * 8
                        ),
                    );
                }
                TensorData::I64(
                    b.chunks_exact(8)
                        .map(|c| {
                            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                )
            } else {
                TensorData::I64(ints)
            }
        }
        Some(t) => {
            return err(
                base,
                format!("tensor {name:?}: unsupported data type {t} (only float32 and int64)"),
            );
        }
        None => return err(base, format!("tensor {name:?}: no data_type")),
    };
    let len = match &data {
        TensorData::F32(v) => v.len(),
        TensorData::I64(v) => v.len(),
    };
    if len != count {
        return err(
            base,
            format!("tensor {name:?}: {len} values but dims {dims:?} need {count}"),
        );
    }
    Ok(TensorProto { name, dims, data })
}

fn parse_attribute(buf: &[u8], base: usize) -> Result<(String, Option<AttributeValue>), OnnxError> {
    let mut f = Fields::new(buf, base);
    let mut name = String::new();
    let mut value = None;
    let mut floats = Vec::new();
    let mut ints = Vec::new();
    let mut kind = 0;
    while let Some((field, wire, at)) = f.next_field()? {
        match field {
            1 => name = string(&wire, at, "AttributeProto.name")?,
            2 => match wire {
                Wire::Fixed32(b) => value = Some(AttributeValue::Float(f32::from_le_bytes(b))),
                _ => return err(at, "AttributeProto.f: expected fixed32"),
            },
            3 => value = Some(AttributeValue::Int(int(&wire, at, "AttributeProto.i")?)),
            4 => match wire {
                Wire::Bytes(b, _) => value = Some(AttributeValue::Bytes(b.to_vec())),
                _ => return err(at, "AttributeProto.s: expected bytes"),
            },
            5 => match wire {
                Wire::Bytes(b, off) => value = Some(AttributeValue::Tensor(parse_tensor(b, off)?)),
                _ => return err(at, "AttributeProto.t: expected a message"),
            },
            7 => push_floats(&mut floats, &wire, at, "AttributeProto.floats")?,
            8 => push_ints(&mut ints, &wire, at, "AttributeProto.ints")?,
            20 => kind = int(&wire, at, "AttributeProto.type")?,
            _ => {}
        }
    }
    // AttributeType: FLOATS = 6, INTS = 7. An empty list has no payload, only its type.
    if value.is_none() {
        if kind == 6 || !floats.is_empty() {
            value = Some(AttributeValue::Floats(floats));
        } else if kind == 7 || !ints.is_empty() {
            value = Some(AttributeValue::Ints(ints));
        }
    }
    Ok((name, value))
}

fn parse_node(buf: &[u8], base: usize) -> Result<NodeProto, OnnxError> {
    let mut f = Fields::new(buf, base);
    let mut node = NodeProto {
        op_type: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        attributes: HashMap::new(),
    };
    while let Some((field, wire, at)) = f.next_field()? {
        match field {
            1 => node.inputs.push(string(&wire, at, "NodeProto.input")?),
            2 => node.outputs.push(string(&wire, at, "NodeProto.output")?),
            4 => node.op_type = string(&wire, at, "NodeProto.op_type")?,
            5 => match wire {
                Wire::Bytes(b, off) => {
                    let (name, value) = parse_attribute(b, off)?;
                    if let Some(v) = value {
                        node.attributes.insert(name, v);
                    }
                }
                _ => return err(at, "NodeProto.attribute: expected a message"),
            },
            _ => {}
        }
    }
    if node.op_type.is_empty() {
        return err(base, "node without op_type");
    }
    Ok(node)
}

/// ValueInfoProto: only the name matters to us.
fn value_info_name(buf: &[u8], base: usize) -> Result<String, OnnxError> {
    let mut f = Fields::new(buf, base);
    while let Some((field, wire, at)) = f.next_field()? {
        if field == 1 {
            return string(&wire, at, "ValueInfoProto.name");
        }
    }
    err(base, "graph input/output without a name")
}

fn parse_graph(buf: &[u8], base: usize) -> Result<GraphProto, OnnxError> {
    let mut f = Fields::new(buf, base);
    let mut g = GraphProto {
        nodes: Vec::new(),
        initializers: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    while let Some((field, wire, at)) = f.next_field()? {
        let Wire::Bytes(b, off) = wire else {
            if matches!(field, 1 | 5 | 11 | 12) {
                return err(at, format!("GraphProto field {field}: expected a message"));
            }
            continue;
        };
        match field {
            1 => g.nodes.push(parse_node(b, off)?),
            5 => g.initializers.push(parse_tensor(b, off)?),
            11 => g.inputs.push(value_info_name(b, off)?),
            12 => g.outputs.push(value_info_name(b, off)?),
            _ => {}
        }
    }
    Ok(g)
}

fn parse_opset(buf: &[u8], base: usize) -> Result<(String, i64), OnnxError> {
    let mut f = Fields::new(buf, base);
    let (mut domain, mut version) = (String::new(), 0);
    while let Some((field, wire, at)) = f.next_field()? {
        match field {
            1 => domain = string(&wire, at, "OperatorSetIdProto.domain")?,
            2 => version = int(&wire, at, "OperatorSetIdProto.version")?,
            _ => {}
        }
    }
    Ok((domain, version))
}

/// Decode an ONNX `ModelProto`. Refuses bytes that are not a complete model with a graph.
pub fn parse_model(bytes: &[u8]) -> Result<ModelProto, OnnxError> {
    let mut f = Fields::new(bytes, 0);
    let mut ir_version = None;
    let mut producer_name = String::new();
    let mut opset_imports = Vec::new();
    let mut graph = None;
    while let Some((field, wire, at)) = f.next_field()? {
        match field {
            1 => ir_version = Some(int(&wire, at, "ModelProto.ir_version")?),
            2 => producer_name = string(&wire, at, "ModelProto.producer_name")?,
            7 => match wire {
                Wire::Bytes(b, off) => graph = Some(parse_graph(b, off)?),
                _ => return err(at, "ModelProto.graph: expected a message"),
            },
            8 => match wire {
                Wire::Bytes(b, off) => opset_imports.push(parse_opset(b, off)?),
                _ => return err(at, "ModelProto.opset_import: expected a message"),
            },
            _ => {}
        }
    }
    let Some(ir_version) = ir_version else {
        return err(0, "no ModelProto.ir_version: not an ONNX model");
    };
    let Some(graph) = graph else {
        return err(
            bytes.len(),
            "no ModelProto.graph: not an ONNX model or file truncated",
        );
    };
    Ok(ModelProto {
        ir_version,
        producer_name,
        opset_imports,
        graph,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }
    fn bytes_field(field: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    #[test]
    fn tensor_raw_and_packed_float_data_decode_alike() {
        let values = [1.5f32, -2.0, 3.25, 0.0, 7.0, -0.5];
        let mut dims = Vec::new();
        varint(2, &mut dims);
        varint(3, &mut dims);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        for (field, payload) in [(9u64, &raw), (4u64, &raw)] {
            let mut t = Vec::new();
            bytes_field(1, &dims, &mut t);
            varint(2 << 3, &mut t);
            varint(1, &mut t);
            bytes_field(8, b"w", &mut t);
            bytes_field(field, payload, &mut t);
            let parsed = parse_tensor(&t, 0).expect("valid tensor");
            assert_eq!(parsed.dims, vec![2, 3]);
            assert_eq!(parsed.data, TensorData::F32(values.to_vec()));
        }
    }

    #[test]
    fn tensor_with_wrong_byte_count_is_refused() {
        let mut t = Vec::new();
        varint(1 << 3, &mut t);
        varint(4, &mut t);
        varint(2 << 3, &mut t);
        varint(1, &mut t);
        bytes_field(9, &[0u8; 12], &mut t);
        let e = parse_tensor(&t, 100).expect_err("12 bytes for 4 floats");
        assert!(e.what.contains("raw_data holds 12 bytes"), "{e}");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_model(b"this is not a model at all").is_err());
        assert!(parse_model(&[]).is_err());
        assert!(parse_model(&[0x0a, 0xff, 0xff, 0x03]).is_err());
    }
}
