//! Support for per-stage parameter structs.
//!
//! A stage's YAML body holds `kind` and `after` (read by the planner) next to its own
//! parameters. serde's `deny_unknown_fields` cannot be combined with `flatten`, so every
//! parameter struct declares the two shared keys as `Ignored` fields; `stage_params!`
//! writes them so that stage files only list their own parameters.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A key that is accepted and skipped (it is read elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ignored;

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Ignored)
    }
}

impl Serialize for Ignored {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// Declare a stage's parameter struct: `deny_unknown_fields`, plus the shared `kind` and
/// `after` keys, plus `Serialize` (the canonical form hashed into the stage fingerprint).
#[macro_export]
macro_rules! stage_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[serde(default, skip_serializing)]
            kind: $crate::spec::Ignored,
            #[serde(default, skip_serializing)]
            after: $crate::spec::Ignored,
            $( $(#[$fmeta])* pub $field : $ty ),*
        }
    };
}

/// A number or the word `auto` (MNE's convention for transition bands and lengths).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum AutoOr {
    #[default]
    Auto,
    Value(f64),
}

impl Serialize for AutoOr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AutoOr::Auto => s.serialize_str("auto"),
            AutoOr::Value(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for AutoOr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = AutoOr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or `auto`")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<AutoOr, E> {
                Ok(AutoOr::Value(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<AutoOr, E> {
                Ok(AutoOr::Value(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AutoOr, E> {
                Ok(AutoOr::Value(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AutoOr, E> {
                if v == "auto" {
                    Ok(AutoOr::Auto)
                } else {
                    Err(E::custom(format!(
                        "expected a number or `auto`, found `{v}`"
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}
