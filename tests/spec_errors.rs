//! Pipeline-file mistakes are reported with file:line:column before any data is read.
//! The expected positions are read off the YAML texts below (1-based, as editors show).

use eegclean::spec::{Pipeline, Source, SpecErrors};

fn check(yaml: &str) -> Result<Pipeline, SpecErrors> {
    Pipeline::from_source(Source::new("test.yaml", yaml))
}

fn only_error(yaml: &str) -> eegclean::spec::SpecError {
    let errs = check(yaml).expect_err("the pipeline must be refused");
    assert_eq!(errs.0.len(), 1, "expected one error, got: {errs}");
    errs.0.into_iter().next().unwrap()
}

/// Line and column (1-based) of the first occurrence of `needle` in `yaml`.
fn position_of(yaml: &str, needle: &str) -> (usize, usize) {
    let offset = yaml.find(needle).expect("needle in text");
    let before = &yaml[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

const HEAD: &str = "name: t\ninput: { root: data }\n";

#[test]
fn a_valid_pipeline_resolves_in_dependency_order() {
    // Declared out of order on purpose: execution order follows `after`.
    let yaml = format!(
        "{HEAD}stages:\n  out: {{ kind: write_edf, after: [filt] }}\n  filt: {{ kind: filter, after: [raw], l_freq: 1 }}\n  raw: {{ kind: load }}\n"
    );
    let p = check(&yaml).unwrap();
    let ids: Vec<&str> = p.stages.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["raw", "filt", "out"]);
    assert_eq!(p.stages[2].inputs, vec![1]);
    assert!(p.input.root.ends_with("data"));
}

#[test]
fn unknown_kind_is_located_and_the_nearest_kind_suggested() {
    let yaml =
        format!("{HEAD}stages:\n  raw: {{ kind: load }}\n  f: {{ kind: filtr, after: [raw] }}\n");
    let e = only_error(&yaml);
    assert_eq!((e.line, e.column), position_of(&yaml, "filtr"));
    assert!(e.message.contains("unknown kind `filtr`"), "{e}");
    assert_eq!(e.help.as_deref(), Some("did you mean `filter`?"));
}

#[test]
fn unknown_parameter_is_located_with_a_suggestion() {
    let yaml = format!(
        "{HEAD}stages:\n  raw: {{ kind: load }}\n  f: {{ kind: filter, after: [raw], lfreq: 1.0 }}\n"
    );
    let e = only_error(&yaml);
    let (line, _) = position_of(&yaml, "lfreq");
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains("unknown key `lfreq`"), "{e}");
    assert_eq!(e.help.as_deref(), Some("did you mean `l_freq`?"));
}

#[test]
fn wrong_type_is_located() {
    let yaml = format!(
        "{HEAD}stages:\n  raw:\n    kind: load\n  f:\n    kind: filter\n    after: [raw]\n    h_freq: forty\n"
    );
    let e = only_error(&yaml);
    assert_eq!(e.line, position_of(&yaml, "forty").0, "{e}");
}

#[test]
fn unknown_top_level_key_is_located() {
    let yaml = format!("{HEAD}stages:\n  raw: {{ kind: load }}\nsed: 3\n");
    let e = only_error(&yaml);
    assert_eq!(e.line, position_of(&yaml, "sed").0, "{e}");
}

#[test]
fn missing_after_target_is_located_with_a_suggestion() {
    let yaml = format!(
        "{HEAD}stages:\n  raw: {{ kind: load }}\n  f: {{ kind: filter, after: [rwa], l_freq: 1 }}\n"
    );
    let e = only_error(&yaml);
    assert_eq!((e.line, e.column), position_of(&yaml, "rwa"));
    assert_eq!(e.help.as_deref(), Some("did you mean `raw`?"));
}

#[test]
fn cycles_are_refused_and_named() {
    let yaml = format!(
        "{HEAD}stages:\n  a: {{ kind: filter, after: [b], l_freq: 1 }}\n  b: {{ kind: filter, after: [a], l_freq: 1 }}\n"
    );
    let e = only_error(&yaml);
    assert!(e.message.contains("cycle"), "{e}");
    assert!(
        e.message.contains("a → b") || e.message.contains("b → a"),
        "{e}"
    );
}

#[test]
fn edges_of_the_wrong_artifact_type_are_refused() {
    // write_edf produces written files; filter needs a continuous recording.
    let yaml = format!(
        "{HEAD}stages:\n  raw: {{ kind: load }}\n  w: {{ kind: write_edf, after: [raw] }}\n  f: {{ kind: filter, after: [w], l_freq: 1 }}\n"
    );
    let e = only_error(&yaml);
    assert_eq!(e.line, position_of(&yaml, "after: [w]").0);
    assert!(e.message.contains("needs a continuous recording"), "{e}");
}

#[test]
fn wrong_number_of_inputs_is_refused() {
    let yaml =
        format!("{HEAD}stages:\n  raw: {{ kind: load }}\n  f: {{ kind: filter, l_freq: 1 }}\n");
    let e = only_error(&yaml);
    assert!(e.message.contains("takes 1 input"), "{e}");
}

#[test]
fn parameter_checks_run_before_any_data() {
    let yaml = format!(
        "{HEAD}stages:\n  raw: {{ kind: load }}\n  f: {{ kind: filter, after: [raw], l_freq: -1 }}\n"
    );
    let e = only_error(&yaml);
    assert!(e.message.contains("l_freq"), "{e}");
    assert_eq!(e.line, position_of(&yaml, "  f:").0);
}

#[test]
fn several_mistakes_are_reported_together() {
    let yaml = format!(
        "{HEAD}stages:\n  raw: {{ kind: load }}\n  f: {{ kind: filter, after: [nope], l_freq: 1 }}\n  g: {{ kind: filter, after: [raw] }}\n"
    );
    let errs = check(&yaml).unwrap_err();
    assert_eq!(errs.0.len(), 2, "{errs}");
    let text = errs.to_string();
    assert!(text.contains("test.yaml:"), "{text}");
    assert!(text.contains("2 errors"), "{text}");
}

#[test]
fn malformed_yaml_is_located() {
    let yaml = format!("{HEAD}stages:\n  raw: {{ kind: load\n  f: [\n");
    let e = check(&yaml).unwrap_err();
    assert!(e.0[0].line >= 4, "{e}");
}

#[test]
fn alias_bombs_are_refused_not_expanded() {
    // The "billion laughs": nine levels of nine aliases each.
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        yaml.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    yaml.push_str(&format!("{HEAD}stages:\n  raw: {{ kind: load }}\n"));
    assert!(check(&yaml).is_err());
}

#[test]
fn every_shipped_pipeline_validates() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            Pipeline::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn epoch_events_regex_is_checked_before_any_data_is_read() {
    for (stage, needle) in [
        (
            "{ kind: epoch, after: [raw], events_regex: \"T(1\", tmax: 1.0 }",
            "not a valid regular expression",
        ),
        (
            "{ kind: epoch, after: [raw], events: [T1], events_regex: \"^T\", tmax: 1.0 }",
            "not both",
        ),
        (
            "{ kind: epoch, after: [raw], events_regex: \"^T\", fixed_length: { duration: 2.0 } }",
            "not both",
        ),
        (
            "{ kind: epoch, after: [raw], events_regex: \"^T\" }",
            "required with `events_regex`",
        ),
    ] {
        let yaml = format!("{HEAD}stages:\n  raw: {{ kind: load }}\n  e: {stage}\n");
        let e = only_error(&yaml);
        assert!(e.message.contains(needle), "{stage}: {e}");
    }
}
