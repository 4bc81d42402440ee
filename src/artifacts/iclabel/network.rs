//! Forward pass of ICLabelNet: a small interpreter for the ONNX operators the exported graph
//! uses (Conv, LeakyRelu, Transpose, Constant, Reshape, Concat, Softmax, Squeeze,
//! ReduceMean), in float32 like onnxruntime. Following the graph rather than hard-coding the
//! architecture means the file's own wiring (Fortran-order reshapes, the averaging over the
//! four augmentations) is executed exactly as exported.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::Array2;

use super::IcLabelError;
use super::onnx::{AttributeValue, ModelProto, NodeProto, TensorData, parse_model};

/// Number of ICLabel classes: brain, muscle, eye, heart, line noise, channel noise, other.
pub const N_CLASSES: usize = 7;

/// A dense row-major tensor flowing through the graph.
#[derive(Debug, Clone)]
enum Value {
    F32 {
        shape: Vec<usize>,
        data: Vec<f32>,
    },
    I64 {
        shape: Vec<usize>,
        data: Vec<i64>,
    },
    /// A float tensor of logical shape `shape` whose batch (axis 0) is `repeat` copies of
    /// the `shape[0] / repeat` items stored in `data`. ICLabel feeds the PSD and
    /// autocorrelation of each component four times (once per topographic augmentation);
    /// the per-sample operators (Conv, LeakyRelu) then run once instead of four times.
    Tiled {
        shape: Vec<usize>,
        data: Vec<f32>,
        repeat: usize,
    },
}

impl Value {
    fn shape(&self) -> &[usize] {
        match self {
            Value::F32 { shape, .. } | Value::I64 { shape, .. } | Value::Tiled { shape, .. } => {
                shape
            }
        }
    }

    /// A batch given as `repeat` identical blocks is stored once.
    fn batch(shape: Vec<usize>, data: Vec<f32>, repeat: usize) -> Value {
        let block = data.len() / repeat.max(1);
        let tiled = repeat > 1
            && shape.first().is_some_and(|b| b.is_multiple_of(repeat))
            && data.len().is_multiple_of(repeat)
            && data.chunks_exact(block).all(|c| c == &data[..block]);
        if tiled {
            let mut data = data;
            data.truncate(block);
            Value::Tiled {
                shape,
                data,
                repeat,
            }
        } else {
            Value::F32 { shape, data }
        }
    }
}

/// The loaded network: the decoded graph with its weights.
#[derive(Debug, Clone)]
pub struct IcLabelNet {
    nodes: Vec<NodeProto>,
    initializers: HashMap<String, Value>,
    output: String,
    /// How many node inputs (and graph outputs) read each value: a value read once can be
    /// transformed in place by its reader.
    uses: HashMap<String, usize>,
}

const SUPPORTED_OPS: [&str; 9] = [
    "Conv",
    "LeakyRelu",
    "Transpose",
    "Constant",
    "Reshape",
    "Concat",
    "Softmax",
    "Squeeze",
    "ReduceMean",
];

impl IcLabelNet {
    /// Read and check `ICLabelNet.onnx`.
    pub fn load(path: &Path) -> Result<Self, IcLabelError> {
        let io = |source| IcLabelError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // Mapped, not read: the 12 MB file is parsed once, and a copy would only add page
        // faults to every run.
        // SAFETY: the map is read-only and dropped before this function returns; a file
        // changed underneath would at worst fail the model checks.
        let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::from_bytes(&bytes).map_err(|e| match e {
            IcLabelError::Model { what, .. } => IcLabelError::Model {
                path: path.display().to_string(),
                what,
            },
            other => other,
        })
    }

    /// Decode the model from bytes and check that it is the ICLabel graph we can run.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IcLabelError> {
        let bad = |what: String| IcLabelError::Model {
            path: "<bytes>".into(),
            what,
        };
        let model: ModelProto = parse_model(bytes).map_err(|e| bad(e.to_string()))?;
        let graph = model.graph;
        for name in ["topo", "psds", "autocorr"] {
            if !graph.inputs.iter().any(|i| i == name) {
                return Err(bad(format!(
                    "graph has no input {name:?} (inputs {:?}): not ICLabelNet.onnx",
                    graph.inputs
                )));
            }
        }
        let Some(output) = graph.outputs.first().cloned() else {
            return Err(bad("graph has no output".into()));
        };
        if let Some(n) = graph
            .nodes
            .iter()
            .find(|n| !SUPPORTED_OPS.contains(&n.op_type.as_str()))
        {
            return Err(bad(format!(
                "operator {} is not supported (supported: {SUPPORTED_OPS:?})",
                n.op_type
            )));
        }
        let mut initializers = HashMap::new();
        for t in graph.initializers {
            let v = match t.data {
                TensorData::F32(data) => Value::F32 {
                    shape: t.dims,
                    data,
                },
                TensorData::I64(data) => Value::I64 {
                    shape: t.dims,
                    data,
                },
            };
            initializers.insert(t.name, v);
        }
        let mut uses: HashMap<String, usize> = HashMap::new();
        for name in graph
            .nodes
            .iter()
            .flat_map(|n| &n.inputs)
            .chain(&graph.outputs)
        {
            *uses.entry(name.clone()).or_default() += 1;
        }
        Ok(IcLabelNet {
            nodes: graph.nodes,
            initializers,
            output,
            uses,
        })
    }

    /// Run the graph on already-augmented NCHW inputs: `topo` [B,1,32,32], `psds` and
    /// `autocorr` [B,1,1,100], with B = 4·n (the four augmentations of n components, in
    /// blocks). Returns [n, 7] class probabilities averaged over the augmentations.
    pub fn run(
        &self,
        batch: usize,
        topo: Vec<f32>,
        psds: Vec<f32>,
        autocorr: Vec<f32>,
    ) -> Result<Array2<f32>, IcLabelError> {
        let expect = |name: &str, got: usize, per: usize| {
            if got == batch * per {
                Ok(())
            } else {
                Err(IcLabelError::Input(format!(
                    "{name}: {got} values, expected batch {batch} × {per}"
                )))
            }
        };
        expect("topo", topo.len(), 32 * 32)?;
        expect("psds", psds.len(), 100)?;
        expect("autocorr", autocorr.len(), 100)?;
        if batch == 0 || !batch.is_multiple_of(4) {
            return Err(IcLabelError::Input(format!(
                "batch {batch} is not a positive multiple of 4 (the four augmentations)"
            )));
        }
        let mut env: HashMap<String, Value> = HashMap::new();
        env.insert(
            "topo".into(),
            Value::F32 {
                shape: vec![batch, 1, 32, 32],
                data: topo,
            },
        );
        env.insert("psds".into(), Value::batch(vec![batch, 1, 1, 100], psds, 4));
        env.insert(
            "autocorr".into(),
            Value::batch(vec![batch, 1, 1, 100], autocorr, 4),
        );
        for node in &self.nodes {
            let out = self
                .leaky_relu_in_place(node, &mut env)
                .unwrap_or_else(|| self.eval(node, &env))
                .map_err(|what| IcLabelError::Model {
                    path: "<graph>".into(),
                    what: format!("node {} ({:?}): {what}", node.op_type, node.outputs),
                })?;
            let Some(name) = node.outputs.first() else {
                return Err(IcLabelError::Model {
                    path: "<graph>".into(),
                    what: format!("node {} has no output", node.op_type),
                });
            };
            env.insert(name.clone(), out);
        }
        match env.remove(&self.output) {
            Some(Value::F32 { shape, data }) if shape == [batch / 4, N_CLASSES] => {
                Array2::from_shape_vec((batch / 4, N_CLASSES), data)
                    .map_err(|e| IcLabelError::Input(e.to_string()))
            }
            Some(Value::Tiled {
                shape,
                data,
                repeat,
            }) if shape == [batch / 4, N_CLASSES] => {
                Array2::from_shape_vec((batch / 4, N_CLASSES), data.repeat(repeat))
                    .map_err(|e| IcLabelError::Input(e.to_string()))
            }
            Some(v) => Err(IcLabelError::Model {
                path: "<graph>".into(),
                what: format!(
                    "output {:?} has shape {:?}, expected [{}, {N_CLASSES}]",
                    self.output,
                    v.shape(),
                    batch / 4
                ),
            }),
            None => Err(IcLabelError::Model {
                path: "<graph>".into(),
                what: format!("no node produces the output {:?}", self.output),
            }),
        }
    }

    fn input<'a>(
        &'a self,
        node: &NodeProto,
        i: usize,
        env: &'a HashMap<String, Value>,
    ) -> Result<&'a Value, String> {
        let name = node
            .inputs
            .get(i)
            .ok_or_else(|| format!("missing input {i}"))?;
        env.get(name)
            .or_else(|| self.initializers.get(name))
            .ok_or_else(|| format!("input {name:?} is not computed yet nor an initializer"))
    }

    /// A float input as a dense tensor (tiled batches are expanded).
    fn f32_input<'a>(
        &'a self,
        node: &NodeProto,
        i: usize,
        env: &'a HashMap<String, Value>,
    ) -> Result<(&'a [usize], Cow<'a, [f32]>), String> {
        match self.input(node, i, env)? {
            Value::F32 { shape, data } => Ok((shape, Cow::Borrowed(data))),
            Value::Tiled {
                shape,
                data,
                repeat,
            } => Ok((shape, Cow::Owned(data.repeat(*repeat)))),
            Value::I64 { .. } => Err(format!("input {i} must be float32")),
        }
    }

    /// A float input as stored: (logical shape, data, repeat of the batch).
    fn stored_input<'a>(
        &'a self,
        node: &NodeProto,
        i: usize,
        env: &'a HashMap<String, Value>,
    ) -> Result<(&'a [usize], &'a [f32], usize), String> {
        match self.input(node, i, env)? {
            Value::F32 { shape, data } => Ok((shape, data, 1)),
            Value::Tiled {
                shape,
                data,
                repeat,
            } => Ok((shape, data, *repeat)),
            Value::I64 { .. } => Err(format!("input {i} must be float32")),
        }
    }

    /// LeakyRelu on a value nothing else reads: done in place, without a new buffer.
    fn leaky_relu_in_place(
        &self,
        node: &NodeProto,
        env: &mut HashMap<String, Value>,
    ) -> Option<Result<Value, String>> {
        if node.op_type != "LeakyRelu" {
            return None;
        }
        let name = node.inputs.first()?;
        if self.uses.get(name) != Some(&1) {
            return None;
        }
        let mut value = match env.remove(name)? {
            v @ (Value::F32 { .. } | Value::Tiled { .. }) => v,
            other => {
                env.insert(name.clone(), other);
                return None;
            }
        };
        if let Value::F32 { data, .. } | Value::Tiled { data, .. } = &mut value {
            leaky_relu(data, leaky_alpha(node));
        }
        Some(Ok(value))
    }

    fn eval(&self, node: &NodeProto, env: &HashMap<String, Value>) -> Result<Value, String> {
        let ints = |name: &str| match node.attributes.get(name) {
            Some(AttributeValue::Ints(v)) => Some(v.clone()),
            _ => None,
        };
        let int = |name: &str| match node.attributes.get(name) {
            Some(AttributeValue::Int(v)) => Some(*v),
            _ => None,
        };
        match node.op_type.as_str() {
            "Conv" => {
                let (xs, x, repeat) = self.stored_input(node, 0, env)?;
                let (ws, w) = self.f32_input(node, 1, env)?;
                let bias = match node.inputs.len() {
                    3.. => Some(self.f32_input(node, 2, env)?.1),
                    _ => None,
                };
                if int("group").unwrap_or(1) != 1 {
                    return Err("grouped convolution is not supported".into());
                }
                let pads = ints("pads").unwrap_or_else(|| vec![0; 4]);
                let strides = ints("strides").unwrap_or_else(|| vec![1, 1]);
                let dil = ints("dilations").unwrap_or_else(|| vec![1, 1]);
                // A tiled batch is convolved once per stored item and stays tiled.
                let mut stored = xs.to_vec();
                if let Some(b) = stored.first_mut() {
                    *b /= repeat;
                }
                let out = conv2d(&stored, x, ws, &w, bias.as_deref(), &pads, &strides, &dil)?;
                Ok(match out {
                    Value::F32 { mut shape, data } if repeat > 1 => {
                        shape[0] *= repeat;
                        Value::Tiled {
                            shape,
                            data,
                            repeat,
                        }
                    }
                    other => other,
                })
            }
            "LeakyRelu" => {
                let alpha = leaky_alpha(node);
                let (s, x, repeat) = self.stored_input(node, 0, env)?;
                let mut data = x.to_vec();
                leaky_relu(&mut data, alpha);
                Ok(if repeat > 1 {
                    Value::Tiled {
                        shape: s.to_vec(),
                        data,
                        repeat,
                    }
                } else {
                    Value::F32 {
                        shape: s.to_vec(),
                        data,
                    }
                })
            }
            "Transpose" => {
                let v = self.input(node, 0, env)?;
                let rank = v.shape().len();
                let perm = ints("perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
                transpose(v, &perm)
            }
            "Constant" => match node.attributes.get("value") {
                Some(AttributeValue::Tensor(t)) => Ok(match &t.data {
                    TensorData::F32(d) => Value::F32 {
                        shape: t.dims.clone(),
                        data: d.clone(),
                    },
                    TensorData::I64(d) => Value::I64 {
                        shape: t.dims.clone(),
                        data: d.clone(),
                    },
                }),
                _ => Err("Constant without a tensor value".into()),
            },
            "Reshape" => {
                let (s, x) = self.f32_input(node, 0, env)?;
                let target = match self.input(node, 1, env)? {
                    Value::I64 { data, .. } => data,
                    _ => return Err("shape must be int64".into()),
                };
                let shape = reshape_target(s, target, int("allowzero").unwrap_or(0) != 0)?;
                Ok(Value::F32 {
                    shape,
                    data: x.to_vec(),
                })
            }
            "Concat" => {
                let axis = int("axis").ok_or("Concat without axis")?;
                let parts = (0..node.inputs.len())
                    .map(|i| self.f32_input(node, i, env))
                    .collect::<Result<Vec<_>, _>>()?;
                let parts: Vec<(&[usize], &[f32])> =
                    parts.iter().map(|(s, x)| (*s, x.as_ref())).collect();
                concat(&parts, axis)
            }
            "Softmax" => {
                let (s, x) = self.f32_input(node, 0, env)?;
                let axis = normalise_axis(int("axis").unwrap_or(-1), s.len())?;
                Ok(Value::F32 {
                    shape: s.to_vec(),
                    data: softmax(s, &x, axis),
                })
            }
            "Squeeze" => {
                if node.inputs.len() > 1 {
                    return Err("Squeeze with explicit axes is not supported".into());
                }
                let (s, x) = self.f32_input(node, 0, env)?;
                Ok(Value::F32 {
                    shape: s.iter().copied().filter(|&d| d != 1).collect(),
                    data: x.to_vec(),
                })
            }
            "ReduceMean" => {
                let (s, x) = self.f32_input(node, 0, env)?;
                let axes = ints("axes").ok_or("ReduceMean without axes attribute")?;
                if axes.len() != 1 {
                    return Err("ReduceMean over several axes is not supported".into());
                }
                let axis = normalise_axis(axes[0], s.len())?;
                Ok(reduce_mean(s, &x, axis, int("keepdims").unwrap_or(1) != 0))
            }
            other => Err(format!("unsupported operator {other}")),
        }
    }
}

/// LeakyRelu in place; a select, not a conditional store, so the loop vectorises.
fn leaky_relu(data: &mut [f32], alpha: f32) {
    for v in data.iter_mut() {
        *v = if *v < 0.0 { *v * alpha } else { *v };
    }
}

fn leaky_alpha(node: &NodeProto) -> f32 {
    match node.attributes.get("alpha") {
        Some(AttributeValue::Float(a)) => *a,
        _ => 0.01,
    }
}

fn normalise_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a >= rank as i64 {
        return Err(format!("axis {axis} out of range for rank {rank}"));
    }
    Ok(a as usize)
}

fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Rows of the im2col matrix processed per GEMM: bounds memory for large batches.
const CONV_BATCH_CHUNK: usize = 16;

/// 2-D convolution (NCHW, group 1) as im2col + one GEMM per batch chunk (faer, sequential).
#[allow(clippy::too_many_arguments)]
fn conv2d(
    xs: &[usize],
    x: &[f32],
    ws: &[usize],
    w: &[f32],
    bias: Option<&[f32]>,
    pads: &[i64],
    strides: &[i64],
    dil: &[i64],
) -> Result<Value, String> {
    let [n, c, h, wd] = *xs else {
        return Err(format!("input must be 4-D NCHW, got {xs:?}"));
    };
    let [m, wc, kh, kw] = *ws else {
        return Err(format!("weight must be 4-D, got {ws:?}"));
    };
    if wc != c {
        return Err(format!("weight expects {wc} input channels, input has {c}"));
    }
    if let Some(b) = bias
        && b.len() != m
    {
        return Err(format!(
            "bias has {} values for {m} output channels",
            b.len()
        ));
    }
    let as_usize = |v: &[i64], len: usize, what: &str| -> Result<Vec<usize>, String> {
        if v.len() != len || v.iter().any(|&e| e < 0) {
            return Err(format!("{what} {v:?} invalid"));
        }
        Ok(v.iter().map(|&e| e as usize).collect())
    };
    let p = as_usize(pads, 4, "pads")?;
    let s = as_usize(strides, 2, "strides")?;
    let d = as_usize(dil, 2, "dilations")?;
    if s.contains(&0) || d.contains(&0) {
        return Err("zero stride or dilation".into());
    }
    let (pt, pl, pb, pr) = (p[0], p[1], p[2], p[3]);
    let ext_h = d[0] * (kh - 1) + 1;
    let ext_w = d[1] * (kw - 1) + 1;
    if h + pt + pb < ext_h || wd + pl + pr < ext_w {
        return Err(format!(
            "kernel {kh}×{kw} larger than padded input {h}×{wd}"
        ));
    }
    let ho = (h + pt + pb - ext_h) / s[0] + 1;
    let wo = (wd + pl + pr - ext_w) / s[1] + 1;
    let k = c * kh * kw;
    let npix = ho * wo;
    let unit = s == [1, 1] && d == [1, 1];
    if unit && kh == 1 && h == 1 && pt == 0 && pb == 0 {
        return Ok(Value::F32 {
            shape: vec![n, m, 1, wo],
            data: conv_along_rows(x, (n, c, wd), w, (m, kw), bias, (pl, wo)),
        });
    }
    if npix == 1 && kh == h && kw == wd && p.iter().all(|&e| e == 0) {
        return Ok(Value::F32 {
            shape: vec![n, m, 1, 1],
            data: dense_layer(x, n, w, m, k, bias),
        });
    }
    let mut out = vec![0f32; n * m * npix];
    let wmat = MatRef::from_row_major_slice(w, m, k);
    let mut col = Vec::new();
    let mut prod = Vec::new();
    for b0 in (0..n).step_by(CONV_BATCH_CHUNK) {
        let nb = CONV_BATCH_CHUNK.min(n - b0);
        let cols = nb * npix;
        col.clear();
        col.resize(k * cols, 0f32);
        // col[(ci,ky,kx), (b,oy,ox)] = x[b, ci, oy*s+ky*d-pt, ox*s+kx*d-pl] (0 in the padding).
        for ci in 0..c {
            for ky in 0..kh {
                for kx in 0..kw {
                    let row = (ci * kh + ky) * kw + kx;
                    let dst = &mut col[row * cols..(row + 1) * cols];
                    // Output columns lo..hi read input columns first, first + s, … (the
                    // others fall in the zero padding).
                    let offset = (kx * d[1]) as isize - pl as isize;
                    let lo = if offset >= 0 {
                        0
                    } else {
                        ((-offset) as usize).div_ceil(s[1])
                    };
                    let hi = ((wd as isize - offset).max(0) as usize)
                        .div_ceil(s[1])
                        .min(wo);
                    if lo >= hi {
                        continue;
                    }
                    let first = (lo as isize * s[1] as isize + offset) as usize;
                    for bi in 0..nb {
                        let src = &x[((b0 + bi) * c + ci) * h * wd..][..h * wd];
                        for oy in 0..ho {
                            let iy = (oy * s[0] + ky * d[0]) as isize - pt as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            let srow = &src[iy as usize * wd..][..wd];
                            let drow = &mut dst[bi * npix + oy * wo..][lo..hi];
                            for (v, &x) in drow.iter_mut().zip(srow[first..].iter().step_by(s[1])) {
                                *v = x;
                            }
                        }
                    }
                }
            }
        }
        prod.clear();
        prod.resize(m * cols, 0f32);
        matmul(
            MatMut::from_row_major_slice_mut(&mut prod, m, cols),
            Accum::Replace,
            wmat,
            MatRef::from_row_major_slice(&col, k, cols),
            1.0f32,
            Par::Seq,
        );
        for bi in 0..nb {
            for mi in 0..m {
                let add = bias.map_or(0.0, |b| b[mi]);
                let src = &prod[mi * cols + bi * npix..][..npix];
                let dst = &mut out[((b0 + bi) * m + mi) * npix..][..npix];
                for (o, &v) in dst.iter_mut().zip(src) {
                    *o = v + add;
                }
            }
        }
    }
    Ok(Value::F32 {
        shape: vec![n, m, ho, wo],
        data: out,
    })
}

/// A 1-D convolution (height 1, stride and dilation 1) without im2col: for each kernel tap,
/// one product of that tap's m × c weights with the input shifted by the tap, added to the
/// output columns it reaches (the zero padding contributes nothing, so it is never built).
fn conv_along_rows(
    x: &[f32],
    (n, c, wd): (usize, usize, usize),
    w: &[f32],
    (m, kw): (usize, usize),
    bias: Option<&[f32]>,
    (pl, wo): (usize, usize),
) -> Vec<f32> {
    let taps: Vec<Vec<f32>> = (0..kw)
        .map(|kx| (0..m * c).map(|i| w[i * kw + kx]).collect())
        .collect();
    let mut out = vec![0f32; n * m * wo];
    for (b, out_b) in out.chunks_exact_mut(m * wo).enumerate() {
        for (mi, row) in out_b.chunks_exact_mut(wo).enumerate() {
            row.fill(bias.map_or(0.0, |b| b[mi]));
        }
        let x_b = MatRef::from_row_major_slice(&x[b * c * wd..][..c * wd], c, wd);
        let mut out_mat = MatMut::from_row_major_slice_mut(out_b, m, wo);
        for (kx, tap) in taps.iter().enumerate() {
            // Output column ox reads input column ox + kx − pl.
            let lo = pl.saturating_sub(kx);
            let hi = (wd + pl).saturating_sub(kx).min(wo);
            if lo >= hi {
                continue;
            }
            matmul(
                out_mat.as_mut().subcols_mut(lo, hi - lo),
                Accum::Add,
                MatRef::from_row_major_slice(tap, m, c),
                x_b.subcols(lo + kx - pl, hi - lo),
                1.0f32,
                Par::Seq,
            );
        }
    }
    out
}

/// A convolution whose kernel covers the whole unpadded input is a dense layer:
/// out[b, :] = W · x[b, :] + bias.
fn dense_layer(
    x: &[f32],
    n: usize,
    w: &[f32],
    m: usize,
    k: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = vec![0f32; n * m];
    for row in out.chunks_exact_mut(m) {
        if let Some(b) = bias {
            row.copy_from_slice(b);
        }
    }
    matmul(
        MatMut::from_row_major_slice_mut(&mut out, n, m),
        Accum::Add,
        MatRef::from_row_major_slice(x, n, k),
        MatRef::from_row_major_slice(w, m, k).transpose(),
        1.0f32,
        Par::Seq,
    );
    out
}

fn transpose(v: &Value, perm: &[i64]) -> Result<Value, String> {
    let shape = v.shape();
    let rank = shape.len();
    let mut seen = vec![false; rank];
    for &p in perm {
        if p < 0 || p as usize >= rank || seen[p as usize] {
            return Err(format!("perm {perm:?} is not a permutation of rank {rank}"));
        }
        seen[p as usize] = true;
    }
    if perm.len() != rank {
        return Err(format!("perm {perm:?} for rank {rank}"));
    }
    let perm: Vec<usize> = perm.iter().map(|&p| p as usize).collect();
    let in_strides = strides_of(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let src_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let total: usize = shape.iter().product();
    let index_map: Vec<usize> = {
        let mut idx = vec![0usize; rank];
        let mut map = Vec::with_capacity(total);
        for _ in 0..total {
            map.push(idx.iter().zip(&src_strides).map(|(i, s)| i * s).sum());
            for ax in (0..rank).rev() {
                idx[ax] += 1;
                if idx[ax] < out_shape[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
        map
    };
    Ok(match v {
        Value::F32 { data, .. } => Value::F32 {
            shape: out_shape,
            data: index_map.iter().map(|&i| data[i]).collect(),
        },
        Value::I64 { data, .. } => Value::I64 {
            shape: out_shape,
            data: index_map.iter().map(|&i| data[i]).collect(),
        },
        Value::Tiled { data, repeat, .. } => {
            let dense = data.repeat(*repeat);
            Value::F32 {
                shape: out_shape,
                data: index_map.iter().map(|&i| dense[i]).collect(),
            }
        }
    })
}

fn reshape_target(shape: &[usize], target: &[i64], allowzero: bool) -> Result<Vec<usize>, String> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*shape.get(i).ok_or("0 in shape beyond input rank")?),
            t if t >= 0 => out.push(t as usize),
            _ => return Err(format!("invalid reshape target {target:?}")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {shape:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!("cannot reshape {shape:?} to {target:?}"));
    }
    Ok(out)
}

fn concat(parts: &[(&[usize], &[f32])], axis: i64) -> Result<Value, String> {
    let Some(&(first, _)) = parts.first() else {
        return Err("Concat without inputs".into());
    };
    let axis = normalise_axis(axis, first.len())?;
    for (s, _) in parts {
        if s.len() != first.len()
            || s.iter()
                .zip(first)
                .enumerate()
                .any(|(i, (a, b))| i != axis && a != b)
        {
            return Err(format!(
                "shapes {s:?} and {first:?} do not concatenate on axis {axis}"
            ));
        }
    }
    let outer: usize = first[..axis].iter().product();
    let mut shape = first.to_vec();
    shape[axis] = parts.iter().map(|(s, _)| s[axis]).sum();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for (s, x) in parts {
            let chunk: usize = s[axis..].iter().product();
            data.extend_from_slice(&x[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(Value::F32 { shape, data })
}

fn softmax(shape: &[usize], x: &[f32], axis: usize) -> Vec<f32> {
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut out = vec![0f32; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let max = (0..len).map(|j| x[at(j)]).fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for j in 0..len {
                let e = (x[at(j)] - max).exp();
                out[at(j)] = e;
                sum += e;
            }
            for j in 0..len {
                out[at(j)] /= sum;
            }
        }
    }
    out
}

fn reduce_mean(shape: &[usize], x: &[f32], axis: usize, keepdims: bool) -> Value {
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut data = vec![0f32; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let sum: f32 = (0..len).map(|j| x[(o * len + j) * inner + i]).sum();
            data[o * inner + i] = sum / len as f32;
        }
    }
    let mut out_shape = shape.to_vec();
    if keepdims {
        out_shape[axis] = 1;
    } else {
        out_shape.remove(axis);
    }
    Value::F32 {
        shape: out_shape,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct 7-loop convolution, obviously correct, to check the im2col/GEMM path.
    #[allow(clippy::too_many_arguments)]
    fn conv_reference(
        x: &[f32],
        (n, c, h, w): (usize, usize, usize, usize),
        wt: &[f32],
        (m, kh, kw): (usize, usize, usize),
        pad: (usize, usize),
        stride: usize,
    ) -> (Vec<f32>, usize, usize) {
        let ho = (h + 2 * pad.0 - kh) / stride + 1;
        let wo = (w + 2 * pad.1 - kw) / stride + 1;
        let mut out = vec![0f32; n * m * ho * wo];
        for b in 0..n {
            for mi in 0..m {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let mut acc = 0f64;
                        for ci in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * stride + ky) as isize - pad.0 as isize;
                                    let ix = (ox * stride + kx) as isize - pad.1 as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w
                                    {
                                        acc += (x
                                            [((b * c + ci) * h + iy as usize) * w + ix as usize]
                                            * wt[((mi * c + ci) * kh + ky) * kw + kx])
                                            as f64;
                                    }
                                }
                            }
                        }
                        out[((b * m + mi) * ho + oy) * wo + ox] = acc as f32;
                    }
                }
            }
        }
        (out, ho, wo)
    }

    /// Our conv2d against the direct loops, for one geometry.
    fn check_conv(
        (n, c, h, w): (usize, usize, usize, usize),
        (m, kh, kw): (usize, usize, usize),
        pad: (usize, usize),
        stride: usize,
    ) {
        let x: Vec<f32> = (0..n * c * h * w)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
            .collect();
        let wt: Vec<f32> = (0..m * c * kh * kw)
            .map(|i| ((i * 53 % 89) as f32 - 44.0) / 31.0)
            .collect();
        let bias: Vec<f32> = (0..m).map(|i| i as f32 * 0.25 - 1.0).collect();
        let (mut want, ho, wo) = conv_reference(&x, (n, c, h, w), &wt, (m, kh, kw), pad, stride);
        for (i, v) in want.iter_mut().enumerate() {
            *v += bias[i / (ho * wo) % m];
        }
        let p = [pad.0 as i64, pad.1 as i64, pad.0 as i64, pad.1 as i64];
        let st = [stride as i64; 2];
        let got = conv2d(
            &[n, c, h, w],
            &x,
            &[m, c, kh, kw],
            &wt,
            Some(&bias),
            &p,
            &st,
            &[1, 1],
        )
        .expect("valid conv");
        let Value::F32 { shape, data } = got else {
            panic!("float output")
        };
        assert_eq!(shape, vec![n, m, ho, wo]);
        for (a, b) in data.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    #[test]
    fn conv_matches_direct_loops() {
        // im2col + GEMM (strided, padded 2-D).
        check_conv((18, 3, 9, 8), (5, 4, 3), (1, 2), 2);
        check_conv((5, 3, 16, 16), (4, 4, 4), (1, 1), 2);
        check_conv((2, 2, 7, 9), (3, 3, 5), (2, 3), 3);
        // Shifted products along a row (ICLabel's PSD/autocorrelation branches), including
        // padding wider than some taps reach and a single output channel.
        check_conv((7, 6, 1, 11), (4, 1, 3), (0, 1), 1);
        check_conv((3, 5, 1, 4), (1, 1, 5), (0, 3), 1);
        // A kernel covering the whole input: a dense layer (ICLabel's last layer).
        check_conv((6, 9, 4, 4), (7, 4, 4), (0, 0), 1);
    }

    #[test]
    fn tiled_batches_give_the_dense_result() {
        let block: Vec<f32> = (0..2 * 100)
            .map(|i| ((i * 29 % 61) as f32 - 30.0) / 7.0)
            .collect();
        let tiled = Value::batch(vec![8, 1, 1, 100], block.repeat(4), 4);
        assert!(matches!(tiled, Value::Tiled { repeat: 4, .. }));
        let mut varied = block.repeat(4);
        varied[650] += 1.0;
        assert!(matches!(
            Value::batch(vec![8, 1, 1, 100], varied, 4),
            Value::F32 { .. }
        ));
        let dense = Value::F32 {
            shape: vec![8, 1, 1, 100],
            data: block.repeat(4),
        };
        let perm = [3, 1, 2, 0];
        let (Value::F32 { data: a, shape: sa }, Value::F32 { data: b, shape: sb }) = (
            transpose(&tiled, &perm).expect("perm"),
            transpose(&dense, &perm).expect("perm"),
        ) else {
            panic!("float outputs")
        };
        assert_eq!((sa, a), (sb, b));
    }

    #[test]
    fn transpose_and_reshape_follow_numpy() {
        let v = Value::F32 {
            shape: vec![2, 3],
            data: vec![0., 1., 2., 3., 4., 5.],
        };
        let Value::F32 { shape, data } = transpose(&v, &[1, 0]).expect("perm") else {
            panic!()
        };
        assert_eq!(shape, vec![3, 2]);
        assert_eq!(data, vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(
            reshape_target(&[4, 7], &[2, -1], false).expect("ok"),
            vec![2, 14]
        );
        assert_eq!(
            reshape_target(&[4, 7], &[0, -1], false).expect("ok"),
            vec![4, 7]
        );
        assert!(reshape_target(&[4, 7], &[3, -1], false).is_err());
    }
}
