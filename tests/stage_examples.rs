//! Every stage kind's documented YAML example (`eegclean stages KIND`) runs on a real
//! recording, so the documentation cannot drift from what the code accepts.

mod common;

use eegclean::dag::{RunOptions, Selection, Status, discover, run};
use eegclean::spec::{Pipeline, Source};
use eegclean::stages::KINDS;

#[test]
fn every_documented_example_runs() {
    let dir = common::scratch();
    let input = dir.path().join("in/S001");
    std::fs::create_dir_all(&input).unwrap();
    std::os::unix::fs::symlink(
        common::shared_file("data/eegmmidb/S001/S001R04.edf"),
        input.join("S001R04.edf"),
    )
    .unwrap();
    for info in KINDS {
        let stages: String = info.example.lines().map(|l| format!("  {l}\n")).collect();
        let yaml = format!(
            "name: example-{}\ninput: {{ root: in }}\noutput: out-{}\nstages:\n{stages}",
            info.kind, info.kind
        );
        let path = dir.path().join(format!("{}.yaml", info.kind));
        std::fs::write(&path, &yaml).unwrap();
        let p = Pipeline::from_source(Source::new(&path, yaml.clone()))
            .unwrap_or_else(|e| panic!("example of `{}` does not validate:\n{e}", info.kind));
        assert!(
            p.stages.iter().any(|s| s.kind == info.kind),
            "example of `{}` does not use it",
            info.kind
        );
        let jobs = discover(&p.input, &Selection::default()).unwrap();
        let outcomes = run(&p, &jobs, &RunOptions { jobs: 1 }, &|_| {});
        for o in outcomes {
            assert_eq!(
                o.status,
                Status::Ok,
                "example of `{}` failed: {:?}",
                info.kind,
                o.error
            );
        }
    }
}
