//! Raw spec → validated `Pipeline`: every check that needs no data happens here.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::raw::{RawChannels, RawPipeline, RawStageHead};
use super::{Source, SpecError, SpecErrors, nearest};
use crate::data::{ArtifactKind, ChannelType};
use crate::stages::{KINDS, Stage, StageParams, kind_info, registry};

/// A checked pipeline: what `run` executes, `plan` prints and `validate` approves.
#[derive(Debug)]
pub struct Pipeline {
    pub source: Source,
    pub name: String,
    pub input: InputSpec,
    pub output: PathBuf,
    pub channels: ChannelSpec,
    pub seed: u64,
    /// In execution (topological) order; ties keep the order of the file.
    pub stages: Vec<StageNode>,
}

#[derive(Debug)]
pub struct StageNode {
    pub id: String,
    pub kind: &'static str,
    /// Indices into `Pipeline::stages` of the stages named in `after`, in that order.
    pub inputs: Vec<usize>,
    pub output: ArtifactKind,
    pub stage: Box<dyn Stage>,
    /// Where the stage is declared (for messages).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// Absolute, or relative to the pipeline file's folder (resolved here).
    pub root: PathBuf,
    /// Glob relative to `root`, matched case-insensitively on the extension.
    pub pattern: String,
}

/// How raw labels become channel names before types and positions are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LabelNormalisation {
    /// Strip `EEG `/`-Ref` decorations and trailing dots, then use the 10-05 spelling of
    /// any standard name (`Fc5.` → `FC5`, `EEG Fp1-Ref` → `Fp1`). The default.
    Standard,
    /// Labels are used exactly as in the file.
    None,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelSpec {
    /// Types given explicitly, by (normalised) channel name.
    pub types: HashMap<String, ChannelType>,
    /// Raw label → name, applied before normalisation.
    pub aliases: BTreeMap<String, String>,
    pub normalise: Option<LabelNormalisation>,
    /// Channels removed on load.
    pub drop: Vec<String>,
    /// Channels marked bad on load (excluded from average reference, kept in outputs).
    pub bads: Vec<String>,
}

impl ChannelSpec {
    pub fn normalisation(&self) -> LabelNormalisation {
        self.normalise.unwrap_or(LabelNormalisation::Standard)
    }
}

const DEFAULT_PATTERN: &str = "**/*.{edf,bdf}";
/// `layout: bids`: EEG and iEEG recordings of a BIDS dataset (derivatives and other
/// modalities under the root are not picked up).
const BIDS_PATTERN: &str = "sub-*/**/*_{eeg,ieeg}.{edf,bdf}";

impl Pipeline {
    /// Read and check a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline, SpecErrors> {
        let source = Source::read(path).map_err(|e| {
            SpecError::whole_file(path, format!("cannot read the pipeline file: {e}"))
                .with_help("check the path; `eegclean validate FILE` takes a YAML pipeline")
        })?;
        Self::from_source(source)
    }

    pub fn from_source(source: Source) -> Result<Pipeline, SpecErrors> {
        let raw: RawPipeline = serde_saphyr::with_deserializer_from_str(&source.text, |de| {
            serde::Deserialize::deserialize(de)
        })
        .map_err(|e| yaml_error(&source, &e))?;
        let mut errors = Vec::new();

        // Stages in file order (the map itself is unordered).
        let mut heads: Vec<(&Spanned<String>, &Spanned<RawStageHead>)> =
            raw.stages.value.iter().collect();
        heads.sort_by_key(|(id, _)| (id.referenced.line(), id.referenced.column()));
        if heads.is_empty() {
            errors.push(
                SpecError::at_location(&source, &raw.stages.referenced, "no stages")
                    .with_help("add at least `raw: { kind: load }`"),
            );
        }

        // Kinds must exist before their parameters can be read.
        let mut kinds: HashMap<String, &'static str> = HashMap::new();
        for (id, head) in &heads {
            match kind_info(&head.value.kind.value) {
                Some(info) => {
                    kinds.insert(id.value.clone(), info.kind);
                }
                None => {
                    let k = &head.value.kind;
                    let mut e = SpecError::at_location(
                        &source,
                        &k.referenced,
                        format!("stage `{}`: unknown kind `{}`", id.value, k.value),
                    );
                    e = match nearest(&k.value, KINDS.iter().map(|i| i.kind)) {
                        Some(s) => e.with_help(format!("did you mean `{s}`?")),
                        None => e.with_help(format!(
                            "known kinds: {} (`eegclean stages` describes each)",
                            KINDS.iter().map(|i| i.kind).collect::<Vec<_>>().join(", ")
                        )),
                    };
                    errors.push(e);
                }
            }
        }
        if !errors.is_empty() {
            return Err(SpecErrors(errors));
        }

        // Second pass: each body read by its kind's own parameter struct.
        let mut params: HashMap<String, Box<dyn StageParams>> =
            serde_saphyr::with_deserializer_from_str(&source.text, |de| {
                DocSeed { kinds: &kinds }.deserialize(de)
            })
            .map_err(|e| yaml_error(&source, &e))?;

        // Check parameters and build stages.
        let mut built: Vec<Option<Box<dyn Stage>>> = Vec::with_capacity(heads.len());
        for (id, head) in &heads {
            let Some(p) = params.remove(&id.value) else {
                built.push(None);
                continue;
            };
            match p.check() {
                Ok(stage) => built.push(Some(stage)),
                Err(pe) => {
                    errors.push(
                        SpecError::at_location(
                            &source,
                            &head.referenced,
                            format!("stage `{}` ({}): {}", id.value, kinds[&id.value], pe),
                        )
                        .with_help(format!(
                            "`eegclean stages {}` shows this kind's parameters",
                            kinds[&id.value]
                        )),
                    );
                    built.push(None);
                }
            }
        }

        // Edges: names, arity, artifact types.
        let index: HashMap<&str, usize> = heads
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.value.as_str(), i))
            .collect();
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); heads.len()];
        for (i, (id, head)) in heads.iter().enumerate() {
            let info = kind_info(kinds[&id.value]).expect("checked above");
            let after = &head.value.after;
            if after.len() != info.inputs.len() {
                let want = describe_inputs(info.inputs);
                let loc = after
                    .first()
                    .map(|a| a.referenced)
                    .unwrap_or(head.value.kind.referenced);
                errors.push(
                    SpecError::at_location(
                        &source,
                        &loc,
                        format!(
                            "stage `{}` ({}) takes {} input{} in `after`, got {}",
                            id.value,
                            info.kind,
                            info.inputs.len(),
                            if info.inputs.len() == 1 { "" } else { "s" },
                            after.len()
                        ),
                    )
                    .with_help(want),
                );
            }
            for (slot, dep) in after.iter().enumerate() {
                let Some(&j) = index.get(dep.value.as_str()) else {
                    let mut e = SpecError::at_location(
                        &source,
                        &dep.referenced,
                        format!(
                            "stage `{}` comes after `{}`, which is not a stage",
                            id.value, dep.value
                        ),
                    );
                    if let Some(s) = nearest(&dep.value, index.keys().copied()) {
                        e = e.with_help(format!("did you mean `{s}`?"));
                    }
                    errors.push(e);
                    continue;
                };
                edges[i].push(j);
                let produced = kind_info(kinds[heads[j].0.value.as_str()])
                    .expect("checked above")
                    .output;
                if let Some(&wanted) = info.inputs.get(slot)
                    && produced != wanted
                {
                    errors.push(
                        SpecError::at_location(
                            &source,
                            &dep.referenced,
                            format!(
                                "stage `{}` ({}) needs a {wanted} as input {}, but `{}` ({}) produces {produced}",
                                id.value,
                                info.kind,
                                slot + 1,
                                dep.value,
                                kinds[heads[j].0.value.as_str()],
                            ),
                        )
                        .with_help(describe_inputs(info.inputs)),
                    );
                }
            }
        }

        let order = match topological_order(&edges) {
            Ok(o) => o,
            Err(cycle) => {
                let names: Vec<&str> = cycle.iter().map(|&i| heads[i].0.value.as_str()).collect();
                errors.push(
                    SpecError::at_location(
                        &source,
                        &heads[cycle[0]].0.referenced,
                        format!("stages form a cycle: {} → {}", names.join(" → "), names[0]),
                    )
                    .with_help("`after` must not lead back to the stage itself"),
                );
                Vec::new()
            }
        };

        let base_dir = source
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let input = InputSpec {
            root: base_dir.join(&raw.input.value.root.value),
            pattern: match (&raw.input.value.pattern, &raw.input.value.layout) {
                (Some(p), _) => p.value.clone(),
                (None, Some(l)) if l.value == "bids" => BIDS_PATTERN.to_string(),
                (None, _) => DEFAULT_PATTERN.to_string(),
            },
        };
        if let Some(p) = &raw.input.value.pattern
            && let Err(e) = globset::Glob::new(&p.value)
        {
            errors.push(SpecError::at_location(
                &source,
                &p.referenced,
                format!("input.pattern is not a valid glob: {e}"),
            ));
        }
        if let Some(l) = &raw.input.value.layout
            && !matches!(l.value.as_str(), "glob" | "bids")
        {
            errors.push(
                SpecError::at_location(
                    &source,
                    &l.referenced,
                    format!("input.layout `{}` is not known", l.value),
                )
                .with_help("use `glob` (default) or `bids` (subjects from sub-* folders)"),
            );
        }
        let output = base_dir.join(
            raw.output
                .as_ref()
                .map(|o| o.value.as_str())
                .unwrap_or("derivatives/eegclean"),
        );
        let channels = match &raw.channels {
            Some(c) => check_channels(&source, c, &mut errors),
            None => ChannelSpec::default(),
        };

        if !errors.is_empty() {
            return Err(SpecErrors(errors));
        }

        // Renumber into execution order.
        let mut position = vec![0; heads.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut built: Vec<Option<Box<dyn Stage>>> = built;
        let stages = order
            .iter()
            .map(|&old| {
                let (id, head) = heads[old];
                let kind = kinds[&id.value];
                StageNode {
                    id: id.value.clone(),
                    kind,
                    inputs: edges[old].iter().map(|&j| position[j]).collect(),
                    output: kind_info(kind).expect("checked above").output,
                    stage: built[old].take().expect("every stage was built"),
                    line: head.referenced.line() as usize,
                }
            })
            .collect();

        Ok(Pipeline {
            name: raw.name.value.clone(),
            input,
            output,
            channels,
            seed: raw.seed.as_ref().map(|s| s.value).unwrap_or(0),
            stages,
            source,
        })
    }
}

fn describe_inputs(inputs: &[ArtifactKind]) -> String {
    if inputs.is_empty() {
        "this kind reads the recording itself: remove `after`".to_string()
    } else {
        format!(
            "`after` must list, in order: {}",
            inputs
                .iter()
                .map(|k| format!("a stage producing a {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn check_channels(
    source: &Source,
    raw: &Spanned<RawChannels>,
    errors: &mut Vec<SpecError>,
) -> ChannelSpec {
    let c = &raw.value;
    let mut types = HashMap::new();
    let lists = [
        (ChannelType::Eeg, &c.eeg),
        (ChannelType::Eog, &c.eog),
        (ChannelType::Ecg, &c.ecg),
        (ChannelType::Emg, &c.emg),
        (ChannelType::Misc, &c.misc),
        (ChannelType::Stim, &c.stim),
        (ChannelType::Seeg, &c.seeg),
        (ChannelType::Ecog, &c.ecog),
        (ChannelType::Resp, &c.resp),
    ];
    for (t, names) in lists {
        for n in names {
            if let Some(prev) = types.insert(n.clone(), t)
                && prev != t
            {
                errors.push(SpecError::at_location(
                    source,
                    &raw.referenced,
                    format!("channel `{n}` is listed as both {prev} and {t}"),
                ));
            }
        }
    }
    let normalise = match c.normalize.as_ref().map(|s| (s.value.as_str(), s)) {
        None => None,
        Some(("standard", _)) => Some(LabelNormalisation::Standard),
        Some(("none", _)) => Some(LabelNormalisation::None),
        Some((other, s)) => {
            errors.push(
                SpecError::at_location(
                    source,
                    &s.referenced,
                    format!("channels.normalize `{other}` is not known"),
                )
                .with_help("use `standard` (10-05 names, the default) or `none`"),
            );
            None
        }
    };
    ChannelSpec {
        types,
        aliases: c.aliases.clone(),
        normalise,
        drop: c.drop.clone(),
        bads: c.bads.clone(),
    }
}

/// Kahn's algorithm; among ready stages the one declared first runs first, so the order
/// (and everything downstream of it) is a pure function of the file.
fn topological_order(edges: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = edges.len();
    let mut indegree: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut consumers = vec![Vec::new(); n];
    for (i, deps) in edges.iter().enumerate() {
        for &d in deps {
            consumers[d].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &c in &consumers[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.insert(c);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk back along unresolved edges from a stuck stage until a stage repeats.
    let stuck: Vec<bool> = (0..n).map(|i| indegree[i] > 0).collect();
    let mut path = vec![(0..n).find(|&i| stuck[i]).expect("some stage is stuck")];
    loop {
        let cur = *path.last().expect("non-empty");
        let next = *edges[cur]
            .iter()
            .find(|&&d| stuck[d])
            .expect("a stuck stage waits on a stuck stage");
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.reverse();
            return Err(cycle);
        }
        path.push(next);
    }
}

fn yaml_error(source: &Source, e: &serde_saphyr::Error) -> SpecErrors {
    let message = clean_serde_message(&e.without_snippet().to_string());
    let err = match e.location() {
        Some(loc) if loc.line() > 0 => SpecError::at_location(source, &loc, message.0),
        _ => SpecError::whole_file(&source.path, message.0),
    };
    match message.1 {
        Some(h) => err.with_help(h).into(),
        None => err.into(),
    }
}

/// serde's "unknown field `x`, expected one of `kind`, `after`, `a`, …" lists the two
/// shared keys of every stage and offers no suggestion; say it the way a user needs it.
fn clean_serde_message(msg: &str) -> (String, Option<String>) {
    let first = msg.lines().next().unwrap_or(msg).trim().to_string();
    let Some(rest) = first.split("unknown field `").nth(1) else {
        return (first, None);
    };
    let field = rest.split('`').next().unwrap_or_default().to_string();
    // serde says "expected one of `a`, `b`"; serde-saphyr drops the backticks and adds
    // " at line L, column C". Accept both.
    let expected: Vec<String> = rest
        .split("expected ")
        .nth(1)
        .map(|list| {
            let list = list.trim_start_matches("one of ");
            let list = list.split(" at line ").next().unwrap_or(list);
            list.split(',')
                .map(|s| s.trim().trim_matches('`').to_string())
                .filter(|s| !s.is_empty() && s != "kind" && s != "after")
                .collect()
        })
        .unwrap_or_default();
    let help = match nearest(&field, expected.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None if expected.is_empty() => "this stage takes no parameters".to_string(),
        None => format!("known keys here: {}", expected.join(", ")),
    };
    (format!("unknown key `{field}`"), Some(help))
}

// ---- second pass: stage bodies through their kinds' parameter structs ----

struct DocSeed<'a> {
    kinds: &'a HashMap<String, &'static str>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = HashMap<String, Box<dyn StageParams>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = HashMap<String, Box<dyn StageParams>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a pipeline mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "stages" {
                out = map.next_value_seed(StagesSeed { kinds: self.kinds })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

struct StagesSeed<'a> {
    kinds: &'a HashMap<String, &'static str>,
}

impl<'de> DeserializeSeed<'de> for StagesSeed<'_> {
    type Value = HashMap<String, Box<dyn StageParams>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StagesSeed<'_> {
    type Value = HashMap<String, Box<dyn StageParams>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of stage ids to stages")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::new();
        while let Some(id) = map.next_key::<String>()? {
            let kind = self.kinds.get(&id).copied().unwrap_or("");
            let params = map.next_value_seed(ParamsSeed { kind })?;
            out.insert(id, params);
        }
        Ok(out)
    }
}

struct ParamsSeed {
    kind: &'static str,
}

impl<'de> DeserializeSeed<'de> for ParamsSeed {
    type Value = Box<dyn StageParams>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        registry::parse_params(self.kind, d)
    }
}
